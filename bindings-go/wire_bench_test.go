// What the Go side adds to each call, without the engine: the request checked and encoded,
// the answer decoded (go test -bench Wire -run ^$).

package switchyard

import (
	"testing"

	"github.com/switchyard/switchyard-go/option"
)

const answer = `{"choices":[{"finish_reason":"stop","index":0,"logprobs":null,"message":{"annotations":null,"audio":null,"content":"hello from the mock","function_call":null,"refusal":null,"role":"assistant","tool_calls":null}}],"created":1796634936,"id":"chatcmpl-mock000000000008","metadata":null,"model":"gpt-4o-mini","moderation":null,"object":"chat.completion","service_tier":"default","switchyard":{"attempts":1,"cache_hit":false,"cost_usd":2.85e-6,"deployment":"oa/gpt-4o-mini","fallback":null,"latency_ms":2.55671,"local":false,"model":"chat","provider":"oa","upstream_model":"gpt-4o-mini"},"system_fingerprint":"fp_mock","usage":{"completion_tokens":4,"completion_tokens_details":{"accepted_prediction_tokens":0,"audio_tokens":0,"reasoning_tokens":0,"rejected_prediction_tokens":0,"text_tokens":null},"prompt_tokens":3,"prompt_tokens_details":{"audio_tokens":0,"cache_write_tokens":null,"cached_tokens":0,"image_tokens":null,"text_tokens":null},"total_tokens":7}}`

func BenchmarkWireEncode(b *testing.B) {
	params := ChatCompletionNewParams{Model: "chat", Messages: []ChatCompletionMessageParam{SystemMessage("Be brief."), UserMessage("hi")}}
	opts := []option.RequestOption{option.WithUser("alice")}
	for b.Loop() {
		if _, err := encodeRequest(params); err != nil {
			b.Fatal(err)
		}
		if _, err := encodeOptions(nil, opts); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWireDecode(b *testing.B) {
	body := []byte(answer)
	for b.Loop() {
		if _, err := decode[ChatCompletion](body); err != nil {
			b.Fatal(err)
		}
	}
}
