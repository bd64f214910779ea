// The answers, shaped as openai-go's types (the OpenAI API's JSON), each with Switchyard:
// what the pipeline did for the call.

package switchyard

import "encoding/json"

// CallMeta is what the pipeline did: who answered, attempts, cache, fallback, cost.
type CallMeta struct {
	Model         string `json:"model"`
	Deployment    string `json:"deployment"`
	Provider      string `json:"provider"`
	UpstreamModel string `json:"upstream_model"`
	Attempts      int    `json:"attempts"`
	CacheHit      bool   `json:"cache_hit"`
	// Fallback is the fallback model the call moved to, nil when it did not.
	Fallback  *string `json:"fallback"`
	CostUSD   float64 `json:"cost_usd"`
	LatencyMS float64 `json:"latency_ms"`
	Local     bool    `json:"local"`
}

// FunctionCall is a called function and its arguments (JSON text).
type FunctionCall struct {
	Name      string `json:"name"`
	Arguments string `json:"arguments"`
}

// ChatCompletionMessageToolCall is a tool call of an answer (or of an assistant message).
type ChatCompletionMessageToolCall struct {
	ID       string       `json:"id"`
	Type     string       `json:"type"`
	Function FunctionCall `json:"function"`
}

// ChatCompletionMessage is the answer's message.
type ChatCompletionMessage struct {
	Role      string                          `json:"role"`
	Content   string                          `json:"content"`
	Refusal   string                          `json:"refusal"`
	ToolCalls []ChatCompletionMessageToolCall `json:"tool_calls"`
}

// ChatCompletionChoice is one choice of an answer.
type ChatCompletionChoice struct {
	Index        int64                 `json:"index"`
	Message      ChatCompletionMessage `json:"message"`
	FinishReason string                `json:"finish_reason"`
}

// PromptTokensDetails splits the prompt's tokens.
type PromptTokensDetails struct {
	CachedTokens int64 `json:"cached_tokens"`
	AudioTokens  int64 `json:"audio_tokens"`
}

// CompletionTokensDetails splits the completion's tokens.
type CompletionTokensDetails struct {
	ReasoningTokens int64 `json:"reasoning_tokens"`
	AudioTokens     int64 `json:"audio_tokens"`
}

// CompletionUsage is the tokens a call used.
type CompletionUsage struct {
	PromptTokens            int64                   `json:"prompt_tokens"`
	CompletionTokens        int64                   `json:"completion_tokens"`
	TotalTokens             int64                   `json:"total_tokens"`
	PromptTokensDetails     PromptTokensDetails     `json:"prompt_tokens_details"`
	CompletionTokensDetails CompletionTokensDetails `json:"completion_tokens_details"`
}

// ChatCompletion is a chat answer.
type ChatCompletion struct {
	ID                string                 `json:"id"`
	Object            string                 `json:"object"`
	Created           int64                  `json:"created"`
	Model             string                 `json:"model"`
	Choices           []ChatCompletionChoice `json:"choices"`
	Usage             CompletionUsage        `json:"usage"`
	ServiceTier       string                 `json:"service_tier"`
	SystemFingerprint string                 `json:"system_fingerprint"`
	Switchyard        CallMeta               `json:"switchyard"`
	raw               []byte
}

// RawJSON is the answer as the engine sent it.
func (c *ChatCompletion) RawJSON() string { return string(c.raw) }

// ChatCompletionChunkDelta is what a chunk adds to a choice.
type ChatCompletionChunkDelta struct {
	Role      string                        `json:"role"`
	Content   string                        `json:"content"`
	Refusal   string                        `json:"refusal"`
	ToolCalls []ChatCompletionChunkToolCall `json:"tool_calls"`
}

// ChatCompletionChunkToolCall is a piece of a tool call, keyed by Index.
type ChatCompletionChunkToolCall struct {
	Index    int64        `json:"index"`
	ID       string       `json:"id"`
	Type     string       `json:"type"`
	Function FunctionCall `json:"function"`
}

// ChatCompletionChunkChoice is one choice of a chunk.
type ChatCompletionChunkChoice struct {
	Index        int64                    `json:"index"`
	Delta        ChatCompletionChunkDelta `json:"delta"`
	FinishReason string                   `json:"finish_reason"`
}

// ChunkMeta is Switchyard's mark on a chunk: Restart is the marker of a stream restarted
// after an upstream failure (the text so far is void).
type ChunkMeta struct {
	Restart bool `json:"restart"`
}

// ChatCompletionChunk is one chunk of a streamed answer.
type ChatCompletionChunk struct {
	ID                string                      `json:"id"`
	Object            string                      `json:"object"`
	Created           int64                       `json:"created"`
	Model             string                      `json:"model"`
	Choices           []ChatCompletionChunkChoice `json:"choices"`
	Usage             *CompletionUsage            `json:"usage"`
	ServiceTier       string                      `json:"service_tier"`
	SystemFingerprint string                      `json:"system_fingerprint"`
	Switchyard        *ChunkMeta                  `json:"switchyard"`
}

// Embedding is one vector.
type Embedding struct {
	Object    string    `json:"object"`
	Index     int64     `json:"index"`
	Embedding []float64 `json:"embedding"`
}

// EmbeddingUsage is the tokens an embeddings call used.
type EmbeddingUsage struct {
	PromptTokens int64 `json:"prompt_tokens"`
	TotalTokens  int64 `json:"total_tokens"`
}

// CreateEmbeddingResponse is an embeddings answer.
type CreateEmbeddingResponse struct {
	Object     string         `json:"object"`
	Model      string         `json:"model"`
	Data       []Embedding    `json:"data"`
	Usage      EmbeddingUsage `json:"usage"`
	Switchyard CallMeta       `json:"switchyard"`
}

// Model is a logical model callers may name.
type Model struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
}

// ModelPage is the list of models (one page: the whole list).
type ModelPage struct {
	Object string  `json:"object"`
	Data   []Model `json:"data"`
}

// decode reads an answer's JSON into T.
func decode[T any](body []byte) (*T, error) {
	out := new(T)
	if err := json.Unmarshal(body, out); err != nil {
		return nil, &Error{Kind: KindInternal, Message: "unreadable answer: " + err.Error()}
	}
	return out, nil
}
