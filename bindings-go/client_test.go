// The SDK's own behaviour against the mock provider: answers, streams (Next/Current/Err
// and the iterator), embeddings, models, errors as *Error by kind, ctx cancellation and
// deadlines dropping the upstream request, a closed client, many goroutines at once.

package switchyard

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchyard/switchyard-go/option"
)

var hi = []ChatCompletionMessageParam{UserMessage("hi")}

func open(t testing.TB, s *session, extra map[string]any) *Client {
	t.Helper()
	client, err := NewClient(context.Background(), WithConfig(s.openaiConfig(extra)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Close() })
	return client
}

func asError(t testing.TB, err error, kind Kind) *Error {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("want a *switchyard.Error of kind %s, got %T: %v", kind, err, err)
	}
	if e.Kind != kind {
		t.Fatalf("want kind %s, got %s (%v)", kind, e.Kind, e)
	}
	return e
}

func TestChatCompletion(t *testing.T) {
	s := newSession(t, map[string]any{"models": map[string]any{"*": []any{map[string]any{"content": "hello there"}}}})
	client := open(t, s, nil)
	r, err := client.Chat.Completions.New(context.Background(), ChatCompletionNewParams{Model: "chat", Messages: hi, Temperature: Float(0.2)})
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Choices[0].Message.Content; got != "hello there" {
		t.Fatalf("content %q", got)
	}
	if r.Switchyard.Deployment != "oa/gpt-4o-mini" || r.Switchyard.Attempts != 1 || r.Usage.TotalTokens == 0 {
		t.Fatalf("meta %+v usage %+v", r.Switchyard, r.Usage)
	}
	if !strings.Contains(r.RawJSON(), `"service_tier"`) {
		t.Fatalf("raw JSON lacks the OpenAI keys: %s", r.RawJSON())
	}
	sent := s.requests(t)[0]["body"].(map[string]any)
	if sent["temperature"] != 0.2 || sent["model"] != "gpt-4o-mini" {
		t.Fatalf("sent %v", sent)
	}
}

func TestStreamingNextCurrentErrAndIterator(t *testing.T) {
	s := newSession(t, map[string]any{"models": map[string]any{"*": []any{map[string]any{"content": "one two three"}}}})
	client := open(t, s, nil)
	stream := client.Chat.Completions.NewStreaming(context.Background(), ChatCompletionNewParams{Model: "chat", Messages: hi})
	var text strings.Builder
	for stream.Next() {
		for _, c := range stream.Current().Choices {
			text.WriteString(c.Delta.Content)
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if text.String() != "one two three" {
		t.Fatalf("text %q", text.String())
	}
	if meta := stream.Switchyard(); meta.Deployment != "oa/gpt-4o-mini" {
		t.Fatalf("meta %+v", meta)
	}
	again := client.Chat.Completions.NewStreaming(context.Background(), ChatCompletionNewParams{Model: "chat", Messages: hi})
	n := 0
	for chunk, err := range again.All() {
		if err != nil {
			t.Fatal(err)
		}
		if chunk.ID == "" {
			t.Fatal("a chunk without an id")
		}
		n++
		break // breaking out closes the stream
	}
	if n != 1 || again.Next() {
		t.Fatal("breaking out of the iterator did not close the stream")
	}
}

func TestEmbeddingsAndModels(t *testing.T) {
	client := open(t, newSession(t, nil), nil)
	e, err := client.Embeddings.New(context.Background(), EmbeddingNewParams{Model: "embed", Input: []string{"a", "b"}, Dimensions: Int(4)})
	if err != nil {
		t.Fatal(err)
	}
	if len(e.Data) != 2 || len(e.Data[0].Embedding) != 4 {
		t.Fatalf("embeddings %+v", e.Data)
	}
	page, err := client.Models.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Data) != 2 || page.Data[0].ID != "chat" || page.Data[1].ID != "embed" {
		t.Fatalf("models %+v", page.Data)
	}
}

func TestProviderErrorsAreKinds(t *testing.T) {
	for _, c := range []struct {
		step   map[string]any
		kind   Kind
		status int
	}{
		{map[string]any{"status": 429, "retry_after": "7"}, KindRateLimited, 429},
		{map[string]any{"status": 400, "error_type": "context_length_exceeded"}, KindContextWindowExceeded, 0},
		{map[string]any{"status": 401}, KindAuth, 0},
		{map[string]any{"status": 404}, KindUpstream, 404},
		{map[string]any{"fault": "reset"}, KindNetwork, 0},
	} {
		s := newSession(t, map[string]any{"models": map[string]any{"*": []any{c.step}}})
		client := open(t, s, map[string]any{"retry": map[string]any{"max_attempts": 1}})
		_, err := client.Chat.Completions.New(context.Background(), ChatCompletionNewParams{Model: "chat", Messages: hi})
		e := asError(t, err, c.kind)
		if e.Status != c.status || e.Deployment != "oa/gpt-4o-mini" || e.Display == "" {
			t.Fatalf("%v: %+v", c.step, e)
		}
		if c.kind == KindRateLimited && (e.RetryAfter != 7 || !e.Retryable) {
			t.Fatalf("rate limit %+v", e)
		}
	}
}

func TestCancelingTheContextDropsTheUpstreamRequest(t *testing.T) {
	s := newSession(t, map[string]any{"models": map[string]any{"*": []any{map[string]any{"fault": "hang"}}}})
	client := open(t, s, nil)
	ctx, cancel := context.WithCancel(context.Background())
	var canceledAt time.Time
	time.AfterFunc(200*time.Millisecond, func() { canceledAt = time.Now(); cancel() })
	_, err := client.Chat.Completions.New(ctx, ChatCompletionNewParams{Model: "chat", Messages: hi})
	asError(t, err, KindCanceled)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("%v does not wrap context.Canceled", err)
	}
	if d := time.Since(canceledAt); d > 500*time.Millisecond {
		t.Fatalf("returned %s after the cancel", d)
	}
	// The request reached the mock once and was not sent again (no retry after the cancel).
	time.Sleep(300 * time.Millisecond)
	if c := s.counters(t); c.Total != 1 {
		t.Fatalf("upstream calls %d, want 1", c.Total)
	}
	// A deadline is a timeout wrapping context.DeadlineExceeded.
	ctx, cancel = context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err = client.Chat.Completions.New(ctx, ChatCompletionNewParams{Model: "chat", Messages: hi})
	asError(t, err, KindTimeout)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("%v does not wrap context.DeadlineExceeded", err)
	}
	// Canceled before the call: nothing is sent.
	done, stop := context.WithCancel(context.Background())
	stop()
	before := s.counters(t).Total
	_, err = client.Chat.Completions.New(done, ChatCompletionNewParams{Model: "chat", Messages: hi})
	asError(t, err, KindCanceled)
	if s.counters(t).Total != before {
		t.Fatal("a call canceled before it started reached the provider")
	}
}

func TestCancelingAStreamEndsItWithCanceled(t *testing.T) {
	words := strings.Repeat("w ", 20)
	s := newSession(t, map[string]any{"models": map[string]any{"*": []any{map[string]any{"content": words, "inter_token_ms": 100}}}})
	client := open(t, s, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stream := client.Chat.Completions.NewStreaming(ctx, ChatCompletionNewParams{Model: "chat", Messages: hi})
	seen := 0
	for stream.Next() {
		seen++
		if seen == 2 {
			cancel()
		}
	}
	asError(t, stream.Err(), KindCanceled)
	if seen >= 10 {
		t.Fatalf("read %d chunks after the cancel", seen)
	}
}

func TestTheTimeoutOption(t *testing.T) {
	s := newSession(t, map[string]any{"models": map[string]any{"*": []any{map[string]any{"fault": "hang"}}}})
	client := open(t, s, nil)
	started := time.Now()
	_, err := client.Chat.Completions.New(context.Background(), ChatCompletionNewParams{Model: "chat", Messages: hi}, option.WithTimeout(300*time.Millisecond))
	asError(t, err, KindTimeout)
	if time.Since(started) > 3*time.Second {
		t.Fatal("the timeout did not end the call")
	}
}

func TestWithOptionsSharesTheEngine(t *testing.T) {
	s := newSession(t, map[string]any{"models": map[string]any{"*": []any{map[string]any{"status": 500}, map[string]any{"status": 500}, map[string]any{"content": "third time"}}}})
	client := open(t, s, map[string]any{"retry": map[string]any{"max_attempts": 3, "initial_backoff_ms": 1}})
	_, err := client.WithOptions(option.WithMaxRetries(0)).Chat.Completions.New(context.Background(), ChatCompletionNewParams{Model: "chat", Messages: hi})
	asError(t, err, KindUpstream)
	if c := s.counters(t); c.Total != 1 {
		t.Fatalf("max retries 0 tried %d times", c.Total)
	}
	r, err := client.Chat.Completions.New(context.Background(), ChatCompletionNewParams{Model: "chat", Messages: hi})
	if err != nil || r.Choices[0].Message.Content != "third time" {
		t.Fatalf("%v %+v", err, r)
	}
	metrics, err := client.Metrics()
	if err != nil || metrics["deployments"] == nil {
		t.Fatalf("metrics %v %v", metrics, err)
	}
	config, err := client.Config()
	if err != nil || config["models"] == nil {
		t.Fatalf("config %v %v", config, err)
	}
}

func TestReload(t *testing.T) {
	s := newSession(t, nil)
	client := open(t, s, nil)
	bad := map[string]any{"version": 1, "models": map[string]any{"m": map[string]any{"deployments": []any{map[string]any{"provider": "nope", "model": "x"}}}}}
	asError(t, client.Reload(bad), KindConfig)
	cfg := s.openaiConfig(nil)
	cfg["models"].(map[string]any)["summarise"] = cfg["models"].(map[string]any)["chat"]
	if err := client.Reload(cfg); err != nil {
		t.Fatal(err)
	}
	page, _ := client.Models.List(context.Background())
	if len(page.Data) != 3 {
		t.Fatalf("models after reload %+v", page.Data)
	}
}

func TestManyGoroutinesAtOnce(t *testing.T) {
	s := newSession(t, map[string]any{"models": map[string]any{"*": []any{map[string]any{"content": "ok"}}}})
	client := open(t, s, nil)
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for range 200 {
		wg.Go(func() {
			r, err := client.Chat.Completions.New(context.Background(), ChatCompletionNewParams{Model: "chat", Messages: hi})
			if err == nil && r.Choices[0].Message.Content != "ok" {
				err = errors.New("wrong answer")
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if c := s.counters(t); c.Total != 200 {
		t.Fatalf("upstream calls %d", c.Total)
	}
}

func TestAClosedClientIsUnavailable(t *testing.T) {
	client := open(t, newSession(t, nil), nil)
	if err := client.Close(); err != nil {
		t.Fatal(err)
	}
	if err := client.Close(); err != nil {
		t.Fatal("closing twice:", err)
	}
	_, err := client.Chat.Completions.New(context.Background(), ChatCompletionNewParams{Model: "chat", Messages: hi})
	asError(t, err, KindUnavailable)
	_, err = client.Models.List(context.Background())
	asError(t, err, KindUnavailable)
	asError(t, client.Flush(context.Background()), KindUnavailable)
}
