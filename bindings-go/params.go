// The requests, shaped as openai-go's params: typed fields for what most calls set,
// ExtraFields for anything else (merged in last, so it may also override a typed field).

package switchyard

import "encoding/json"

// ChatCompletionMessageParam is one message of a chat request. Content is a string or a
// list of content parts (maps as the OpenAI API has them).
type ChatCompletionMessageParam struct {
	Role       string                          `json:"role"`
	Content    any                             `json:"content,omitempty"`
	Name       string                          `json:"name,omitempty"`
	ToolCalls  []ChatCompletionMessageToolCall `json:"tool_calls,omitempty"`
	ToolCallID string                          `json:"tool_call_id,omitempty"`
}

// SystemMessage is a system message.
func SystemMessage(content string) ChatCompletionMessageParam {
	return ChatCompletionMessageParam{Role: "system", Content: content}
}

// DeveloperMessage is a developer message.
func DeveloperMessage(content string) ChatCompletionMessageParam {
	return ChatCompletionMessageParam{Role: "developer", Content: content}
}

// UserMessage is a user message.
func UserMessage(content string) ChatCompletionMessageParam {
	return ChatCompletionMessageParam{Role: "user", Content: content}
}

// AssistantMessage is an assistant message (a previous answer).
func AssistantMessage(content string) ChatCompletionMessageParam {
	return ChatCompletionMessageParam{Role: "assistant", Content: content}
}

// ToolMessage answers the tool call toolCallID.
func ToolMessage(content, toolCallID string) ChatCompletionMessageParam {
	return ChatCompletionMessageParam{Role: "tool", Content: content, ToolCallID: toolCallID}
}

// FunctionDefinition describes a function the model may call; Parameters is its JSON
// schema.
type FunctionDefinition struct {
	Name        string         `json:"name"`
	Description string         `json:"description,omitempty"`
	Parameters  map[string]any `json:"parameters,omitempty"`
	Strict      *bool          `json:"strict,omitempty"`
}

// ChatCompletionToolParam is a tool of a chat request.
type ChatCompletionToolParam struct {
	Type     string             `json:"type"`
	Function FunctionDefinition `json:"function"`
}

// FunctionTool is a function tool.
func FunctionTool(function FunctionDefinition) ChatCompletionToolParam {
	return ChatCompletionToolParam{Type: "function", Function: function}
}

// ChatCompletionNewParams is a chat completion request. Pointer fields are unset when nil
// (Float, Int and Bool make them).
type ChatCompletionNewParams struct {
	Model               string                       `json:"model,omitempty"`
	Messages            []ChatCompletionMessageParam `json:"messages,omitempty"`
	Temperature         *float64                     `json:"temperature,omitempty"`
	TopP                *float64                     `json:"top_p,omitempty"`
	MaxTokens           *int64                       `json:"max_tokens,omitempty"`
	MaxCompletionTokens *int64                       `json:"max_completion_tokens,omitempty"`
	N                   *int64                       `json:"n,omitempty"`
	Seed                *int64                       `json:"seed,omitempty"`
	PresencePenalty     *float64                     `json:"presence_penalty,omitempty"`
	FrequencyPenalty    *float64                     `json:"frequency_penalty,omitempty"`
	Stop                []string                     `json:"stop,omitempty"`
	Tools               []ChatCompletionToolParam    `json:"tools,omitempty"`
	// ToolChoice is "auto", "none", "required" or {"type": "function", "function": {"name": ...}}.
	ToolChoice        any   `json:"tool_choice,omitempty"`
	ParallelToolCalls *bool `json:"parallel_tool_calls,omitempty"`
	// ResponseFormat is {"type": "json_object"} or {"type": "json_schema", ...}.
	ResponseFormat any               `json:"response_format,omitempty"`
	User           string            `json:"user,omitempty"`
	Metadata       map[string]string `json:"metadata,omitempty"`
	// ExtraFields are sent as given, over the typed fields.
	ExtraFields map[string]any `json:"-"`
}

// MarshalJSON merges ExtraFields into the typed fields.
func (p ChatCompletionNewParams) MarshalJSON() ([]byte, error) {
	type plain ChatCompletionNewParams
	return withExtra(plain(p), p.ExtraFields)
}

// EmbeddingNewParams is an embeddings request. Input is a string or a list of strings.
type EmbeddingNewParams struct {
	Model          string `json:"model,omitempty"`
	Input          any    `json:"input,omitempty"`
	Dimensions     *int64 `json:"dimensions,omitempty"`
	EncodingFormat string `json:"encoding_format,omitempty"`
	User           string `json:"user,omitempty"`
	// ExtraFields are sent as given, over the typed fields.
	ExtraFields map[string]any `json:"-"`
}

// MarshalJSON merges ExtraFields into the typed fields.
func (p EmbeddingNewParams) MarshalJSON() ([]byte, error) {
	type plain EmbeddingNewParams
	return withExtra(plain(p), p.ExtraFields)
}

func withExtra(typed any, extra map[string]any) ([]byte, error) {
	body, err := json.Marshal(typed)
	if err != nil || len(extra) == 0 {
		return body, err
	}
	merged := map[string]any{}
	if err := json.Unmarshal(body, &merged); err != nil {
		return nil, err
	}
	for k, v := range extra {
		merged[k] = v
	}
	return json.Marshal(merged)
}

// Float is a pointer to v, for optional number fields.
func Float(v float64) *float64 { return &v }

// Int is a pointer to v, for optional integer fields.
func Int(v int64) *int64 { return &v }

// Bool is a pointer to v, for optional flags.
func Bool(v bool) *bool { return &v }
