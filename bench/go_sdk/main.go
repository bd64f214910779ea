// The Go SDK's benchmark (bench/go_sdk.sh runs it): against one mock provider, the
// per-call p50 of switchyard-go next to raw net/http and openai-go sending the same
// request; the cgo crossing alone (a synchronous C call, and an asynchronous call the
// engine refuses before any I/O: Go -> C -> engine thread -> callback -> goroutine); and
// streaming time to first chunk for all three. Prints one line per figure.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/openai/openai-go/v3"
	oaoption "github.com/openai/openai-go/v3/option"
	"github.com/switchyard/switchyard-go"
)

var (
	mock   = flag.String("mock", "", "the mock provider's URL")
	calls  = flag.Int("n", 2000, "timed calls per client")
	warmup = flag.Int("warmup", 200, "untimed calls first")
)

func main() {
	flag.Parse()
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// p50 times f n times (after the warm-up) and returns the median.
func p50(f func() error) (time.Duration, error) {
	for range *warmup {
		if err := f(); err != nil {
			return 0, err
		}
	}
	times := make([]time.Duration, *calls)
	for i := range times {
		start := time.Now()
		if err := f(); err != nil {
			return 0, err
		}
		times[i] = time.Since(start)
	}
	slices.Sort(times)
	return times[len(times)/2], nil
}

func run() error {
	script := `{"models":{"*":[{"content":"hello from the mock"}]}}`
	resp, err := http.Post(*mock+"/_mock/sessions", "application/json", strings.NewReader(script))
	if err != nil {
		return err
	}
	var created struct{ ID any }
	err = json.NewDecoder(resp.Body).Decode(&created)
	resp.Body.Close()
	if err != nil {
		return err
	}
	base := fmt.Sprintf("%s/s/%v/v1", *mock, created.ID)
	ctx := context.Background()
	config := map[string]any{
		"version":   1,
		"providers": map[string]any{"oa": map[string]any{"kind": "openai", "base_url": base, "api_key": "sk-bench"}},
		"models":    map[string]any{"chat": map[string]any{"deployments": []any{map[string]any{"provider": "oa", "model": "gpt-4o-mini"}}}},
	}
	client, err := switchyard.NewClient(ctx, switchyard.WithConfig(config))
	if err != nil {
		return err
	}
	defer client.Close()
	messages := []switchyard.ChatCompletionMessageParam{switchyard.UserMessage("hi")}
	params := switchyard.ChatCompletionNewParams{Model: "chat", Messages: messages}
	body := []byte(`{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`)
	streamBody := []byte(`{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}],"stream":true}`)
	httpClient := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	oa := openai.NewClient(oaoption.WithBaseURL(base+"/"), oaoption.WithAPIKey("sk-bench"), oaoption.WithMaxRetries(0))
	oaParams := openai.ChatCompletionNewParams{Model: "gpt-4o-mini", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}}

	raw := func(payload []byte, read func(io.Reader) error) func() error {
		return func() error {
			req, _ := http.NewRequest("POST", base+"/chat/completions", bytes.NewReader(payload))
			req.Header.Set("content-type", "application/json")
			req.Header.Set("authorization", "Bearer sk-bench")
			resp, err := httpClient.Do(req)
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			if err := read(resp.Body); err != nil {
				return err
			}
			_, err = io.Copy(io.Discard, resp.Body)
			return err
		}
	}
	decodeAll := func(r io.Reader) error {
		var out map[string]any
		return json.NewDecoder(r).Decode(&out)
	}
	firstData := func(r io.Reader) error {
		lines := bufio.NewScanner(r)
		for lines.Scan() {
			if strings.HasPrefix(lines.Text(), "data: {") {
				return nil
			}
		}
		return fmt.Errorf("no chunk")
	}

	figures := []struct {
		name string
		f    func() error
	}{
		{"call p50, net/http (raw)", raw(body, decodeAll)},
		{"call p50, openai-go", func() error {
			_, err := oa.Chat.Completions.New(ctx, oaParams)
			return err
		}},
		{"call p50, switchyard-go", func() error {
			_, err := client.Chat.Completions.New(ctx, params)
			return err
		}},
		{"cgo crossing, sync (sy_version)", func() error {
			if switchyard.Version() == "" {
				return fmt.Errorf("no version")
			}
			return nil
		}},
		{"cgo crossing, async round trip (refused before I/O)", func() error {
			_, err := client.Chat.Completions.New(ctx, switchyard.ChatCompletionNewParams{Model: "chat", Messages: []switchyard.ChatCompletionMessageParam{}})
			if err == nil {
				return fmt.Errorf("an empty request was answered")
			}
			return nil
		}},
		{"first chunk p50, net/http (raw)", raw(streamBody, firstData)},
		{"first chunk p50, openai-go", func() error {
			stream := oa.Chat.Completions.NewStreaming(ctx, oaParams)
			defer stream.Close()
			if !stream.Next() {
				return fmt.Errorf("no chunk: %v", stream.Err())
			}
			return nil
		}},
		{"first chunk p50, switchyard-go", func() error {
			stream := client.Chat.Completions.NewStreaming(ctx, params)
			defer stream.Close()
			if !stream.Next() {
				return fmt.Errorf("no chunk: %v", stream.Err())
			}
			return nil
		}},
	}
	results := map[string]time.Duration{}
	for _, fig := range figures {
		d, err := p50(fig.f)
		if err != nil {
			return fmt.Errorf("%s: %w", fig.name, err)
		}
		results[fig.name] = d
		fmt.Printf("%-52s %9.1f µs\n", fig.name, float64(d.Nanoseconds())/1000)
	}
	ratio := func(a, b string) float64 { return float64(results[a]) / float64(results[b]) }
	fmt.Printf("%-52s %9.2f×\n", "switchyard-go / net/http (call)", ratio("call p50, switchyard-go", "call p50, net/http (raw)"))
	fmt.Printf("%-52s %9.2f×\n", "switchyard-go / openai-go (call)", ratio("call p50, switchyard-go", "call p50, openai-go"))
	fmt.Printf("%-52s %9.2f×\n", "switchyard-go / net/http (first chunk)", ratio("first chunk p50, switchyard-go", "first chunk p50, net/http (raw)"))
	fmt.Printf("%-52s %9.2f×\n", "switchyard-go / openai-go (first chunk)", ratio("first chunk p50, switchyard-go", "first chunk p50, openai-go"))
	return nil
}
