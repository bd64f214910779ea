// Server mode against the real management server binary (as the Python and Node suites'
// server tests): the config comes from the server and follows its activations, a client
// on a dead server starts from its cache file, ctx bounds the wait for the first config,
// a wrong key is KindAuth, the environment names the server, Flush delivers usage.

package switchyard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// management is the server binary on a fresh SQLite database with one tenant.
type management struct {
	url, token, appKey string
}

var (
	serverOnce sync.Once
	server     *management
	serverErr  error
	serverCmd  *exec.Cmd
)

func freePort(t testing.TB) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startManagement starts the server once for the package (TestMain stops it).
func startManagement(t *testing.T) *management {
	t.Helper()
	serverOnce.Do(func() {
		binary := builtBinary("switchyard", "SWITCHYARD_SERVER_BIN")
		if _, err := os.Stat(binary); err != nil {
			serverErr = errors.New("server not built: " + binary + " (cargo build -p switchyard-server)")
			return
		}
		home, err := os.MkdirTemp("", "switchyard-go-server-")
		if err != nil {
			serverErr = err
			return
		}
		db := "sqlite://" + filepath.Join(home, "switchyard.db")
		out, err := exec.Command(binary, "--database-url", db, "init", "--tenant", "acme", "--password", "pw-for-tests-123").Output()
		if err != nil {
			serverErr = err
			return
		}
		m := &management{}
		for _, line := range strings.Split(string(out), "\n") {
			if rest, ok := strings.CutPrefix(line, "token:"); ok {
				m.token = strings.TrimSpace(rest)
			}
		}
		addr := freePort(t)
		serverCmd = exec.Command(binary, "--database-url", db, "serve", "--listen", addr)
		if serverErr = serverCmd.Start(); serverErr != nil {
			return
		}
		m.url = "http://" + addr
		for i := 0; ; i++ {
			if resp, err := http.Get(m.url + "/readyz"); err == nil {
				resp.Body.Close()
				if resp.StatusCode == 200 {
					break
				}
			}
			if i == 100 {
				serverErr = errors.New("the server did not get ready")
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
		var departments struct {
			Items []struct {
				ID any `json:"id"`
			} `json:"items"`
		}
		m.api(t, "GET", "/api/v1/departments", nil, &departments)
		var app struct {
			ID any `json:"id"`
		}
		m.api(t, "POST", "/api/v1/apps", map[string]any{"department_id": departments.Items[0].ID, "name": "checkout"}, &app)
		var key struct {
			Secret string `json:"secret"`
		}
		m.api(t, "POST", "/api/v1/apps/"+fmt.Sprint(app.ID)+"/keys", map[string]any{"name": "sdk"}, &key)
		m.appKey = key.Secret
		server = m
	})
	if serverErr != nil {
		t.Fatal(serverErr)
	}
	return server
}

func (m *management) api(t testing.TB, method, route string, body, out any) {
	t.Helper()
	httpJSONAuth(t, method, m.url+route, m.token, body, out)
}

func (m *management) activate(t testing.TB, document map[string]any) {
	var version struct {
		ID any `json:"id"`
	}
	m.api(t, "POST", "/api/v1/configs", map[string]any{"document": document}, &version)
	m.api(t, "POST", "/api/v1/configs/"+fmt.Sprint(version.ID)+"/activate", nil, nil)
}

func configWith(s *session, aliases ...string) map[string]any {
	doc := s.openaiConfig(nil)
	models := doc["models"].(map[string]any)
	for _, alias := range aliases {
		models[alias] = models["chat"]
	}
	return doc
}

func modelIDs(t testing.TB, c *Client) []string {
	page, err := c.Models.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, m := range page.Data {
		ids = append(ids, m.ID)
	}
	return ids
}

func TestServerModeFollowsActivationsAndStartsFromItsCache(t *testing.T) {
	m := startManagement(t)
	s := newSession(t, map[string]any{"models": map[string]any{"*": []any{map[string]any{"content": "from the server's config"}}}})
	m.activate(t, configWith(s))
	cache := filepath.Join(t.TempDir(), "config-cache.json")
	ctx := context.Background()
	client, err := NewClient(ctx, WithServer(m.url, m.appKey), WithConfigCache(cache))
	if err != nil {
		t.Fatal(err)
	}
	r, err := client.Chat.Completions.New(ctx, ChatCompletionNewParams{Model: "chat", Messages: hi})
	if err != nil || r.Choices[0].Message.Content != "from the server's config" {
		t.Fatalf("%v %+v", err, r)
	}
	m.activate(t, configWith(s, "summarise"))
	within(t, 5*time.Second, "the new activation", func() bool { return slices.Contains(modelIDs(t, client), "summarise") })
	moved, err := client.Chat.Completions.New(ctx, ChatCompletionNewParams{Model: "summarise", Messages: hi})
	if err != nil || moved.Switchyard.Model != "summarise" {
		t.Fatalf("%v %+v", err, moved)
	}
	if err := client.Close(); err != nil {
		t.Fatal(err)
	}
	if info, err := os.Stat(cache); err != nil || info.Mode().Perm()&0o077 != 0 {
		t.Fatalf("the cache file must be owner-only: %v %v", info, err)
	}
	// The server "moves": a client on a dead address starts from the cache file ...
	dead := "http://" + freePort(t)
	cached, err := NewClient(ctx, WithServer(dead, m.appKey), WithConfigCache(cache))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(modelIDs(t, cached), "summarise") {
		t.Fatal("the cached config lacks summarise")
	}
	_ = cached.Close()
	// ... and without one it cannot start, and says why.
	_, err = NewClient(ctx, WithServer(dead, m.appKey))
	asError(t, err, KindNetwork)
}

func TestTheContextBoundsTheWaitForTheFirstConfig(t *testing.T) {
	m := startManagement(t)
	hanging, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer hanging.Close()
	go func() { // takes connections, never answers
		for {
			conn, err := hanging.Accept()
			if err != nil {
				return
			}
			defer conn.Close()
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	started := time.Now()
	_, err = NewClient(ctx, WithServer("http://"+hanging.Addr().String(), m.appKey))
	asError(t, err, KindTimeout)
	if time.Since(started) > 3*time.Second {
		t.Fatal("the deadline did not end the wait")
	}
}

func TestAWrongKeyIsAuth(t *testing.T) {
	m := startManagement(t)
	_, err := NewClient(context.Background(), WithServer(m.url, "sy_not_a_real_key"))
	asError(t, err, KindAuth)
}

func TestTheServerAndKeyFromTheEnvironment(t *testing.T) {
	m := startManagement(t)
	s := newSession(t, map[string]any{"models": map[string]any{"*": []any{map[string]any{"content": "from the environment"}}}})
	m.activate(t, configWith(s))
	t.Setenv("SWITCHYARD_CONFIG", "")
	t.Setenv("SWITCHYARD_SERVER", m.url)
	t.Setenv("SWITCHYARD_API_KEY", m.appKey)
	client, err := NewClient(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	r, err := client.Chat.Completions.New(context.Background(), ChatCompletionNewParams{Model: "chat", Messages: hi})
	if err != nil || r.Choices[0].Message.Content != "from the environment" {
		t.Fatalf("%v %+v", err, r)
	}
}

// callsReported is the calls the server has taken in, by its usage report.
func callsReported(t testing.TB, m *management) int64 {
	var report struct {
		Series []struct {
			Points []struct {
				Calls int64 `json:"calls"`
			} `json:"points"`
		} `json:"series"`
	}
	m.api(t, "GET", "/api/v1/usage", nil, &report)
	var n int64
	for _, s := range report.Series {
		for _, p := range s.Points {
			n += p.Calls
		}
	}
	return n
}

func TestFlushDeliversUsageToTheServer(t *testing.T) {
	m := startManagement(t)
	s := newSession(t, map[string]any{"models": map[string]any{"*": []any{map[string]any{"content": "counted"}}}})
	m.activate(t, configWith(s, "billed"))
	ctx := context.Background()
	client, err := NewClient(ctx, WithServer(m.url, m.appKey))
	if err != nil {
		t.Fatal(err)
	}
	within(t, 5*time.Second, "the billed model", func() bool { return slices.Contains(modelIDs(t, client), "billed") })
	before := callsReported(t, m)
	for range 3 {
		if _, err := client.Chat.Completions.New(ctx, ChatCompletionNewParams{Model: "billed", Messages: hi}); err != nil {
			t.Fatal(err)
		}
	}
	if err := client.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got := callsReported(t, m); got != before+3 {
		t.Fatalf("the server has %d calls, want %d", got, before+3)
	}
	_ = client.Close()
	asError(t, client.Flush(ctx), KindUnavailable)
}
