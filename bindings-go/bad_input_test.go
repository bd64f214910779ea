// Bad input from Go (zero or nil params, empty messages, invalid UTF-8 anywhere, a nil
// context or client, bad options and constructor arguments) is a *Error of kind
// bad_request (or config) naming the field, never a crash; nothing reaches the provider.

package switchyard

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/switchyard/switchyard-go/option"
)

func TestBadInputIsATypedError(t *testing.T) {
	s := newSession(t, nil)
	client := open(t, s, nil)
	ctx := context.Background()
	for _, c := range []struct {
		name   string
		params ChatCompletionNewParams
		opts   []option.RequestOption
		field  string
	}{
		{"zero params", ChatCompletionNewParams{}, nil, "model"},
		{"no messages", ChatCompletionNewParams{Model: "chat"}, nil, "messages"},
		{"empty messages", ChatCompletionNewParams{Model: "chat", Messages: []ChatCompletionMessageParam{}}, nil, "messages"},
		{"nil content", ChatCompletionNewParams{Model: "chat", Messages: []ChatCompletionMessageParam{{Role: "user"}}}, nil, "messages[0].content"},
		{"invalid UTF-8 content", ChatCompletionNewParams{Model: "chat", Messages: []ChatCompletionMessageParam{UserMessage("bad \xff\xfe")}}, nil, "messages[0].content"},
		{"invalid UTF-8 model", ChatCompletionNewParams{Model: "ch\xc3\x28at", Messages: hi}, nil, "model"},
		{"invalid UTF-8 in extra fields", ChatCompletionNewParams{Model: "chat", Messages: hi, ExtraFields: map[string]any{"stop": []string{"\xff"}}}, nil, "stop[0]"},
		{"invalid UTF-8 option", ChatCompletionNewParams{Model: "chat", Messages: hi}, []option.RequestOption{option.WithUser("\xff")}, "user"},
		{"negative timeout", ChatCompletionNewParams{Model: "chat", Messages: hi}, []option.RequestOption{option.WithTimeout(-time.Second)}, "timeout"},
		{"bad cache option", ChatCompletionNewParams{Model: "chat", Messages: hi}, []option.RequestOption{option.WithCache("sometimes")}, "cache"},
		{"temperature out of range", ChatCompletionNewParams{Model: "chat", Messages: hi, Temperature: Float(7)}, nil, "temperature"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := client.Chat.Completions.New(ctx, c.params, c.opts...)
			e := asError(t, err, KindBadRequest)
			if e.Field != c.field {
				t.Fatalf("field %q, want %q (%v)", e.Field, c.field, e)
			}
			stream := client.Chat.Completions.NewStreaming(ctx, c.params, c.opts...)
			if stream.Next() {
				t.Fatal("a bad stream request read a chunk")
			}
			asError(t, stream.Err(), KindBadRequest)
		})
	}
	_, err := client.Embeddings.New(ctx, EmbeddingNewParams{Model: "embed", Input: []string{}})
	asError(t, err, KindBadRequest)
	_, err = client.Embeddings.New(ctx, EmbeddingNewParams{Model: "embed", Input: "\xff"})
	asError(t, err, KindBadRequest)
	//lint:ignore SA1012 a nil context is the bad input under test
	_, err = client.Chat.Completions.New(nil, ChatCompletionNewParams{Model: "chat", Messages: hi}) //nolint:staticcheck
	asError(t, err, KindBadRequest)
	if c := s.counters(t); c.Total != 0 {
		t.Fatalf("bad input reached the provider %d times", c.Total)
	}
}

func TestBadConstructorArguments(t *testing.T) {
	ctx := context.Background()
	_, err := NewClient(ctx, WithConfig(map[string]any{"version": 1, "models": "nope"}))
	asError(t, err, KindConfig)
	_, err = NewClient(ctx, WithConfig(json.RawMessage(`{"version": 1, "models": {}}`)), WithServer("http://127.0.0.1:1", "k"))
	asError(t, err, KindBadRequest)
	_, err = NewClient(ctx, WithServer("http://127.0.0.1:1", ""))
	asError(t, err, KindBadRequest)
	_, err = NewClient(ctx, WithConfigFile("/nonexistent/switchyard.yaml"))
	asError(t, err, KindConfig)
	_, err = NewClient(ctx, WithConfigFile("bad\xffpath"))
	asError(t, err, KindBadRequest)
	t.Setenv("SWITCHYARD_CONFIG", "")
	t.Setenv("SWITCHYARD_SERVER", "")
	t.Setenv("SWITCHYARD_API_KEY", "")
	_, err = NewClient(ctx)
	asError(t, err, KindConfig)
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	_, err = NewClient(canceled, WithConfigFile("x.yaml"))
	asError(t, err, KindCanceled)
}

// Valid text that looks like what encoding/json writes for invalid UTF-8 is sent as it is.
func TestValidTextThatLooksReplacedIsSent(t *testing.T) {
	for _, text := range []string{`a \ufffd escape`, "the replacement character \uFFFD itself"} {
		params := ChatCompletionNewParams{Model: "chat", Messages: []ChatCompletionMessageParam{UserMessage(text)}}
		body, err := encodeRequest(params)
		if err != nil {
			t.Fatalf("%q refused: %v", text, err)
		}
		var back struct {
			Messages []struct{ Content string } `json:"messages"`
		}
		if err := json.Unmarshal(body, &back); err != nil || back.Messages[0].Content != text {
			t.Fatalf("%q came back as %q (%v)", text, back.Messages, err)
		}
	}
}
