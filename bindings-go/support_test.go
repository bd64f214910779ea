// The mock provider for the tests: one process for the package's tests, a session per test
// (as the Python and Node tests do), and the built binaries it and server mode need.

package switchyard

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// root is the repository root.
var root, _ = filepath.Abs("..")

// builtBinary is a binary of the cargo build: env when set, else the target directory's.
func builtBinary(name, env string) string {
	if p := os.Getenv(env); p != "" {
		return p
	}
	target := os.Getenv("CARGO_TARGET_DIR")
	if target == "" {
		target = filepath.Join(root, "target")
	}
	return filepath.Join(target, "debug", name)
}

// mockURL is the mock provider every test of the package shares (TestMain starts it).
var mockURL string

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" { // a subprocess program (exit_test.go)
		os.Exit(runChild())
	}
	cmd := exec.Command(builtBinary("switchyard-mock", "SWITCHYARD_MOCK_BIN"), "--addr", "127.0.0.1:0")
	out, err := cmd.StdoutPipe()
	if err == nil {
		err = cmd.Start()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "cannot start the mock provider:", err)
		os.Exit(1)
	}
	line, _ := bufio.NewReader(out).ReadString('\n')
	mockURL = strings.TrimSpace(strings.TrimPrefix(line, "listening on "))
	code := m.Run()
	if serverCmd != nil {
		_ = serverCmd.Process.Kill()
		_ = serverCmd.Wait()
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	os.Exit(code)
}

func httpJSON(t testing.TB, method, url string, body any, out any) {
	t.Helper()
	httpJSONAuth(t, method, url, "", body, out)
}

// httpJSONAuth sends body as JSON (with a bearer token, if any) and decodes the answer.
func httpJSONAuth(t testing.TB, method, url, token string, body any, out any) {
	t.Helper()
	var reader *bytes.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		reader = bytes.NewReader(b)
	} else {
		reader = bytes.NewReader(nil)
	}
	req, err := http.NewRequest(method, url, reader)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("content-type", "application/json")
	if token != "" {
		req.Header.Set("authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("%s %s: %s", method, url, resp.Status)
	}
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatal(err)
		}
	}
}

// session is one mock session: its own script, counters and recorded requests.
type session struct {
	id  string
	url string
}

func newSession(t testing.TB, script any) *session {
	t.Helper()
	if script == nil {
		script = map[string]any{}
	}
	var created struct {
		ID any `json:"id"`
	}
	httpJSON(t, "POST", mockURL+"/_mock/sessions", script, &created)
	id := fmt.Sprint(created.ID)
	return &session{id: id, url: mockURL + "/s/" + id}
}

type counters struct {
	Total  int64            `json:"total"`
	Models map[string]int64 `json:"models"`
}

func (s *session) counters(t testing.TB) counters {
	var c counters
	httpJSON(t, "GET", mockURL+"/_mock/sessions/"+s.id+"/counters", nil, &c)
	return c
}

func (s *session) requests(t testing.TB) []map[string]any {
	var r []map[string]any
	httpJSON(t, "GET", mockURL+"/_mock/sessions/"+s.id+"/requests", nil, &r)
	return r
}

// usageBatch is one usage batch shipped to a session: its raw JSON text and its events.
type usageBatch struct {
	Raw    string   `json:"raw"`
	Events []object `json:"events"`
}

func (s *session) usage(t testing.TB) []usageBatch {
	var u []usageBatch
	httpJSON(t, "GET", mockURL+"/_mock/sessions/"+s.id+"/usage", nil, &u)
	return u
}

// openaiConfig is a config with one OpenAI provider on this session: models `chat` and
// `embed`, and `extra` merged into `chat`.
func (s *session) openaiConfig(extra map[string]any) map[string]any {
	chat := map[string]any{"deployments": []any{map[string]any{"provider": "oa", "model": "gpt-4o-mini"}}}
	for k, v := range extra {
		chat[k] = v
	}
	return map[string]any{
		"version":   1,
		"providers": map[string]any{"oa": map[string]any{"kind": "openai", "base_url": s.url + "/v1"}},
		"models": map[string]any{
			"chat":  chat,
			"embed": map[string]any{"type": "embedding", "deployments": []any{map[string]any{"provider": "oa", "model": "text-embedding-3-small"}}},
		},
	}
}

// within fails the test unless f returns true before the deadline.
func within(t testing.TB, d time.Duration, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, d)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
