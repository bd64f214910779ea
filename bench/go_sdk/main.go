// The Go SDK's benchmark (bench/go_sdk.sh runs it): against one mock provider, the
// per-call p50 of switchyard-go next to raw net/http and openai-go sending the same
// request; a cache hit (the engine's work without the upstream); the cgo crossing alone (a
// synchronous C call, and a call the engine refuses before any I/O: Go -> C -> the engine
// -> the callback -> the goroutine); and streaming time to first chunk for all three.
// Prints one line per figure: the median of the rounds' medians, and each round's.
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
	calls  = flag.Int("n", 1000, "timed calls per figure and round")
	warmup = flag.Int("warmup", 200, "untimed calls first, in the first round")
	rounds = flag.Int("rounds", 5, "rounds, each timing every figure in turn")
)

func main() {
	flag.Parse()
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// p50 times f n times (after warm calls) and returns the median.
func p50(f func() error, warm int) (time.Duration, error) {
	for range warm {
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
		"models": map[string]any{
			"chat":   map[string]any{"deployments": []any{map[string]any{"provider": "oa", "model": "gpt-4o-mini"}}},
			"cached": map[string]any{"deployments": []any{map[string]any{"provider": "oa", "model": "gpt-4o-mini"}}, "cache": map[string]any{"mode": "always"}},
		},
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
		{"call p50, switchyard-go, cache hit", func() error {
			_, err := client.Chat.Completions.New(ctx, switchyard.ChatCompletionNewParams{Model: "cached", Messages: messages})
			return err
		}},
		{"cgo crossing, sync (sy_version)", func() error {
			if switchyard.Version() == "" {
				return fmt.Errorf("no version")
			}
			return nil
		}},
		{"cgo crossing, call refused before I/O", func() error {
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
	// Rounds interleave the figures, so a machine that is busier for a while weighs on
	// all of them alike; each figure is the median of its rounds' medians.
	perRound := map[string][]time.Duration{}
	for round := range *rounds {
		warm := 0
		if round == 0 {
			warm = *warmup
		}
		for _, fig := range figures {
			d, err := p50(fig.f, warm)
			if err != nil {
				return fmt.Errorf("%s: %w", fig.name, err)
			}
			perRound[fig.name] = append(perRound[fig.name], d)
		}
	}
	results := map[string]time.Duration{}
	for _, fig := range figures {
		times := perRound[fig.name]
		slices.Sort(times)
		results[fig.name] = times[len(times)/2]
		fmt.Printf("%-52s %9.1f µs  (rounds %s)\n", fig.name, micros(results[fig.name]), roundList(perRound[fig.name]))
	}
	ratio := func(a, b string) float64 { return float64(results[a]) / float64(results[b]) }
	fmt.Printf("%-52s %9.2f×\n", "switchyard-go / net/http (call)", ratio("call p50, switchyard-go", "call p50, net/http (raw)"))
	fmt.Printf("%-52s %9.2f×\n", "switchyard-go / openai-go (call)", ratio("call p50, switchyard-go", "call p50, openai-go"))
	fmt.Printf("%-52s %9.2f×\n", "switchyard-go / net/http (first chunk)", ratio("first chunk p50, switchyard-go", "first chunk p50, net/http (raw)"))
	fmt.Printf("%-52s %9.2f×\n", "switchyard-go / openai-go (first chunk)", ratio("first chunk p50, switchyard-go", "first chunk p50, openai-go"))
	return nil
}

func micros(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1000 }

// roundList is each round's median, sorted, in microseconds.
func roundList(times []time.Duration) string {
	parts := make([]string, len(times))
	for i, d := range times {
		parts[i] = fmt.Sprintf("%.0f", micros(d))
	}
	return strings.Join(parts, " ")
}
