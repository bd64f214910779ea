package gatewaytests

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
)

// What harness.py wrote: the gateway's address and two app keys.
type gatewayEnv struct {
	URL        string `json:"url"`
	Key        string `json:"key"`
	LimitedKey string `json:"limited_key"`
}

var env gatewayEnv

func harness() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "harness.py")
}

func TestMain(m *testing.M) {
	run, err := os.MkdirTemp("", "switchyard-gateway-go-")
	if err != nil {
		panic(err)
	}
	start := exec.Command("python3", harness(), "start", run)
	start.Stderr = os.Stderr
	if err := start.Run(); err != nil {
		panic("harness start: " + err.Error())
	}
	code := func() int {
		defer exec.Command("python3", harness(), "stop", run).Run()
		raw, err := os.ReadFile(filepath.Join(run, "env.json"))
		if err != nil {
			panic(err)
		}
		if err := json.Unmarshal(raw, &env); err != nil {
			panic(err)
		}
		return m.Run()
	}()
	os.Exit(code)
}

// No retries: an error must reach the test as the gateway sent it.
func client(key string) openai.Client {
	if key == "" {
		key = env.Key
	}
	return openai.NewClient(option.WithBaseURL(env.URL+"/v1/"), option.WithAPIKey(key), option.WithMaxRetries(0))
}

func chatParams(model string) openai.ChatCompletionNewParams {
	return openai.ChatCompletionNewParams{
		Model:    openai.ChatModel(model),
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
	}
}

func TestChat(t *testing.T) {
	var raw *http.Response
	c := client("")
	completion, err := c.Chat.Completions.New(context.Background(), chatParams("chat"), option.WithResponseInto(&raw))
	if err != nil {
		t.Fatal(err)
	}
	if got := completion.Choices[0].Message.Content; got != "Hello there" {
		t.Fatalf("content %q", got)
	}
	if completion.Usage.TotalTokens <= 0 {
		t.Fatalf("usage %+v", completion.Usage)
	}
	if got := raw.Header.Get("x-switchyard-deployment"); got != "mock/gpt-4o-mini" {
		t.Fatalf("deployment header %q", got)
	}
	if got := raw.Header.Get("x-switchyard-cache"); got != "miss" {
		t.Fatalf("cache header %q", got)
	}
	if !strings.HasPrefix(raw.Header.Get("x-request-id"), "req_") {
		t.Fatalf("request id %q", raw.Header.Get("x-request-id"))
	}
}

func TestStreaming(t *testing.T) {
	params := chatParams("chat")
	params.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
	c := client("")
	stream := c.Chat.Completions.NewStreaming(context.Background(), params)
	var text strings.Builder
	var usage int64
	for stream.Next() {
		chunk := stream.Current()
		if len(chunk.Choices) > 0 {
			text.WriteString(chunk.Choices[0].Delta.Content)
		}
		usage += chunk.Usage.TotalTokens
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if text.String() != "Hello there" || usage <= 0 {
		t.Fatalf("text %q usage %d", text.String(), usage)
	}
}

func TestTools(t *testing.T) {
	params := chatParams("tooly")
	params.Tools = []openai.ChatCompletionToolUnionParam{
		openai.ChatCompletionFunctionTool(openai.FunctionDefinitionParam{
			Name: "get_weather",
			Parameters: openai.FunctionParameters{
				"type":       "object",
				"properties": map[string]any{"city": map[string]any{"type": "string"}},
			},
		}),
	}
	c := client("")
	completion, err := c.Chat.Completions.New(context.Background(), params)
	if err != nil {
		t.Fatal(err)
	}
	call := completion.Choices[0].Message.ToolCalls[0]
	var args map[string]string
	if err := json.Unmarshal([]byte(call.Function.Arguments), &args); err != nil {
		t.Fatal(err)
	}
	if call.Function.Name != "get_weather" || args["city"] != "Paris" {
		t.Fatalf("tool call %+v", call)
	}
	if completion.Choices[0].FinishReason != "tool_calls" {
		t.Fatalf("finish reason %q", completion.Choices[0].FinishReason)
	}

	stream := c.Chat.Completions.NewStreaming(context.Background(), params)
	var pieces strings.Builder
	for stream.Next() {
		chunk := stream.Current()
		if len(chunk.Choices) > 0 && len(chunk.Choices[0].Delta.ToolCalls) > 0 {
			pieces.WriteString(chunk.Choices[0].Delta.ToolCalls[0].Function.Arguments)
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(pieces.String()), &args); err != nil || args["city"] != "Paris" {
		t.Fatalf("streamed arguments %q: %v", pieces.String(), err)
	}
}

func TestEmbeddings(t *testing.T) {
	c := client("")
	result, err := c.Embeddings.New(context.Background(), openai.EmbeddingNewParams{
		Model:      "embed",
		Input:      openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: []string{"a", "b"}},
		Dimensions: openai.Int(4),
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(result.Data) != 2 || len(result.Data[1].Embedding) != 4 {
		t.Fatalf("embeddings %+v", result.Data)
	}
	var norm float64
	for _, x := range result.Data[0].Embedding {
		norm += x * x
	}
	if math.Abs(norm-1) > 1e-3 {
		t.Fatalf("norm %f", norm)
	}
}

func TestModels(t *testing.T) {
	c := client("")
	page, err := c.Models.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, m := range page.Data {
		ids = append(ids, m.ID)
	}
	joined := strings.Join(ids, ",")
	if !strings.Contains(joined, "chat") || !strings.Contains(joined, "embed") {
		t.Fatalf("models %s", joined)
	}
	model, err := c.Models.Get(context.Background(), "chat")
	if err != nil || model.ID != "chat" {
		t.Fatalf("get: %v %+v", err, model)
	}
	limited := client(env.LimitedKey)
	page, err = limited.Models.List(context.Background())
	if err != nil || len(page.Data) != 1 || page.Data[0].ID != "chat" {
		t.Fatalf("limited app's models: %v %+v", err, page)
	}
}

func apiError(t *testing.T, err error) *openai.Error {
	t.Helper()
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) {
		t.Fatalf("not an API error: %v", err)
	}
	return apiErr
}

func TestErrors(t *testing.T) {
	cases := []struct {
		model  string
		status int
		code   string
	}{
		{"ctx", 400, "context_length_exceeded"},
		{"no-such-model", 404, "model_not_found"},
		{"rl", 429, "rate_limit_exceeded"},
		{"pricey", 429, "insufficient_quota"},
		{"boom", 502, "upstream"},
		{"hang", 504, "timeout"},
	}
	c := client("")
	for _, tc := range cases {
		t.Run(tc.model, func(t *testing.T) {
			_, err := c.Chat.Completions.New(context.Background(), chatParams(tc.model))
			apiErr := apiError(t, err)
			if apiErr.StatusCode != tc.status || apiErr.Code != tc.code {
				t.Fatalf("got %d %q: %v", apiErr.StatusCode, apiErr.Code, err)
			}
			if tc.model == "rl" && apiErr.Response.Header.Get("retry-after") != "7" {
				t.Fatalf("retry-after %q", apiErr.Response.Header.Get("retry-after"))
			}
		})
	}
}

func TestWrongKeyAndModelNotAllowed(t *testing.T) {
	wrong := client("sy_not_a_key")
	_, err := wrong.Models.List(context.Background())
	if apiErr := apiError(t, err); apiErr.StatusCode != 401 || apiErr.Code != "invalid_api_key" {
		t.Fatalf("wrong key: %v", err)
	}
	limited := client(env.LimitedKey)
	_, err = limited.Embeddings.New(context.Background(), openai.EmbeddingNewParams{
		Model: "embed",
		Input: openai.EmbeddingNewParamsInputUnion{OfString: openai.String("x")},
	})
	if apiErr := apiError(t, err); apiErr.StatusCode != 404 {
		t.Fatalf("model not allowed: %v", err)
	}
}

func TestBrokenStreamFails(t *testing.T) {
	c := client("")
	stream := c.Chat.Completions.NewStreaming(context.Background(), chatParams("cut"))
	var said strings.Builder
	for stream.Next() {
		if chunk := stream.Current(); len(chunk.Choices) > 0 {
			said.WriteString(chunk.Choices[0].Delta.Content)
		}
	}
	if stream.Err() == nil {
		t.Fatal("a broken stream ended without an error")
	}
	if said.String() != "one " {
		t.Fatalf("said %q", said.String())
	}
}
