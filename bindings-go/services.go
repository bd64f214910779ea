// The services of a Client, as openai-go names them: Chat.Completions, Embeddings, Models.

package switchyard

/*
#include "switchyard.h"
*/
import "C"

import (
	"context"

	"github.com/switchyard/switchyard-go/option"
)

// ChatService holds the chat completion calls.
type ChatService struct {
	Completions *ChatCompletionService
}

// ChatCompletionService makes chat completions.
type ChatCompletionService struct {
	client *Client
}

// New sends a chat completion request and waits for the answer. ctx ending cancels the
// call and drops its upstream request (the error is KindCanceled, or KindTimeout for a
// deadline, wrapping ctx's error).
func (s *ChatCompletionService) New(ctx context.Context, params ChatCompletionNewParams, opts ...option.RequestOption) (*ChatCompletion, error) {
	done, err := s.client.request(ctx, requestChat, params, opts)
	if err != nil {
		return nil, err
	}
	out, err := decode[ChatCompletion](done.body)
	if out != nil {
		out.raw = done.body
	}
	return out, err
}

// NewStreaming sends a chat completion request and returns its stream once the first
// chunk is in; a failure before then is the stream's Err. ctx governs the whole stream.
// Close the stream when done reading early.
func (s *ChatCompletionService) NewStreaming(ctx context.Context, params ChatCompletionNewParams, opts ...option.RequestOption) *Stream[ChatCompletionChunk] {
	done, err := s.client.request(ctx, requestChatStream, params, opts)
	if err != nil {
		return failedStream[ChatCompletionChunk](err)
	}
	return newStream[ChatCompletionChunk](ctx, done.stream, done.body)
}

// EmbeddingService makes embeddings.
type EmbeddingService struct {
	client *Client
}

// New sends an embeddings request and waits for the vectors.
func (s *EmbeddingService) New(ctx context.Context, params EmbeddingNewParams, opts ...option.RequestOption) (*CreateEmbeddingResponse, error) {
	return call[CreateEmbeddingResponse](ctx, s.client, requestEmbed, params, opts)
}

// ModelService lists models.
type ModelService struct {
	client *Client
}

// List is the logical models callers may name (answered at once, no I/O).
func (s *ModelService) List(ctx context.Context) (*ModelPage, error) {
	if ctx != nil {
		if err := ctx.Err(); err != nil {
			return nil, contextError(err)
		}
	}
	body, err := s.client.query(func(p *C.SyClient, out **C.char) C.SyStatus { return C.sy_models(p, out) })
	if err != nil {
		return nil, err
	}
	return decode[ModelPage](body)
}
