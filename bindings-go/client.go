// Package switchyard is the Go SDK of Switchyard: the engine (routing, retries, fallbacks,
// budgets, cache, usage) in-process, over its C ABI (bindings-c), shaped as openai-go:
// client.Chat.Completions.New(ctx, params), NewStreaming, client.Embeddings.New,
// client.Models.List. See docs/sdk/go.md.
package switchyard

/*
#include "switchyard.h"
*/
import "C"

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"github.com/switchyard/switchyard-go/option"
)

// Client is the engine of this process. Goroutine-safe; Close it when done.
type Client struct {
	Chat       *ChatService
	Embeddings *EmbeddingService
	Models     *ModelService

	native   *native
	defaults []option.RequestOption
}

// native is the C client, freed once by Close (calls hold the read lock while they cross).
type native struct {
	mu  sync.RWMutex
	ptr *C.SyClient
}

// spec is the constructor's arguments in the engine's names (docs/bindings.md).
type spec struct {
	Config       any      `json:"config,omitempty"`
	Watch        *float64 `json:"watch,omitempty"`
	Server       string   `json:"server,omitempty"`
	APIKey       string   `json:"api_key,omitempty"`
	ConfigCache  string   `json:"config_cache,omitempty"`
	OTLPEndpoint string   `json:"otlp_endpoint,omitempty"`
	ServiceName  string   `json:"service_name,omitempty"`
}

type clientConfig struct {
	spec     spec
	defaults []option.RequestOption
}

// ClientOption sets where the config comes from, or another constructor argument.
type ClientOption func(*clientConfig)

// WithConfigFile reads the config from a YAML or JSON file.
func WithConfigFile(path string) ClientOption {
	return func(c *clientConfig) { c.spec.Config = path }
}

// WithConfig is the config document itself: a map, a struct that marshals to it, or
// json.RawMessage (a string is a file path, as WithConfigFile).
func WithConfig(config any) ClientOption {
	return func(c *clientConfig) { c.spec.Config = config }
}

// WithWatch re-reads a config file every interval and swaps in a valid change.
func WithWatch(interval time.Duration) ClientOption {
	return func(c *clientConfig) {
		secs := interval.Seconds()
		c.spec.Watch = &secs
	}
}

// WithServer takes the config from the management server, with an app key.
func WithServer(url, apiKey string) ClientOption {
	return func(c *clientConfig) { c.spec.Server, c.spec.APIKey = url, apiKey }
}

// WithConfigCache is a file the server's config is kept in, to start from while the
// server is down.
func WithConfigCache(path string) ClientOption {
	return func(c *clientConfig) { c.spec.ConfigCache = path }
}

// WithOTLP exports spans and GenAI metrics to an OTLP endpoint (a base URL).
func WithOTLP(endpoint, serviceName string) ClientOption {
	return func(c *clientConfig) { c.spec.OTLPEndpoint, c.spec.ServiceName = endpoint, serviceName }
}

// WithRequestOptions are every call's defaults (a call's own options come after them).
func WithRequestOptions(opts ...option.RequestOption) ClientOption {
	return func(c *clientConfig) { c.defaults = append(c.defaults, opts...) }
}

// NewClient builds the engine. With no source given, SWITCHYARD_CONFIG names a config
// file, else SWITCHYARD_SERVER and SWITCHYARD_API_KEY the server. A bad config fails here;
// a server source waits for its first config, as long as ctx lets it.
func NewClient(ctx context.Context, opts ...ClientOption) (*Client, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	var cfg clientConfig
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	body, err := encodeRequest(cfg.spec)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, contextError(err)
	}
	type opened struct {
		ptr *C.SyClient
		err error
	}
	result := make(chan opened, 1)
	go func() {
		ptr, n := bytesArg(body)
		var client *C.SyClient
		var errJSON *C.char
		if C.sy_client_open(ptr, n, &client, &errJSON) != C.SY_STATUS_OK {
			result <- opened{err: decodeError(takeString(errJSON))}
			return
		}
		result <- opened{ptr: client}
	}()
	select {
	case o := <-result:
		if o.err != nil {
			return nil, o.err
		}
		return newClient(&native{ptr: o.ptr}, cfg.defaults), nil
	case <-ctx.Done():
		go func() { // the engine is still starting: shut it down once it has
			if o := <-result; o.err == nil {
				n := &native{ptr: o.ptr}
				_ = n.close(context.Background())
			}
		}()
		return nil, contextError(ctx.Err())
	}
}

func newClient(n *native, defaults []option.RequestOption) *Client {
	c := &Client{native: n, defaults: defaults}
	c.Chat = &ChatService{Completions: &ChatCompletionService{client: c}}
	c.Embeddings = &EmbeddingService{client: c}
	c.Models = &ModelService{client: c}
	return c
}

// WithOptions is a client sharing this one's engine whose calls default to opts.
func (c *Client) WithOptions(opts ...option.RequestOption) *Client {
	return newClient(c.native, append(append([]option.RequestOption{}, c.defaults...), opts...))
}

var errClosed = &Error{Kind: KindUnavailable, Message: "the client is closed", Display: "unavailable: the client is closed"}

// start runs an asynchronous call of the C client to its end (see await).
func (c *Client) start(ctx context.Context, starterFor func(*C.SyClient) starter) (completion, error) {
	if c == nil || c.native == nil {
		return completion{}, badRequest("client", "the client is nil")
	}
	if ctx == nil {
		return completion{}, badRequest("ctx", "the context is nil")
	}
	n := c.native
	return await(ctx, func(ud C.size_t) *C.SyCall {
		n.mu.RLock()
		defer n.mu.RUnlock()
		// Closed meanwhile: the engine answers a NULL client with `bad_request` (callback).
		return starterFor(n.ptr)(ud)
	})
}

// call sends a request and decodes its answer.
func call[T any](ctx context.Context, c *Client, which request, params any, opts []option.RequestOption) (*T, error) {
	done, err := c.request(ctx, which, params, opts)
	if err != nil {
		return nil, err
	}
	return decode[T](done.body)
}

func (c *Client) request(ctx context.Context, which request, params any, opts []option.RequestOption) (completion, error) {
	if c == nil {
		return completion{}, badRequest("client", "the client is nil")
	}
	body, err := encodeRequest(params)
	if err != nil {
		return completion{}, err
	}
	options, err := encodeOptions(c.defaults, opts)
	if err != nil {
		return completion{}, err
	}
	if c.closed() {
		return completion{}, errClosed
	}
	done, err := c.start(ctx, func(p *C.SyClient) starter { return startRequest(which, p, body, options) })
	if err != nil {
		return completion{}, err
	}
	if !done.ok {
		return completion{}, decodeError(done.body)
	}
	return done, nil
}

func (c *Client) closed() bool {
	c.native.mu.RLock()
	defer c.native.mu.RUnlock()
	return c.native.ptr == nil
}

// query runs a synchronous query of the C client.
func (c *Client) query(q func(*C.SyClient, **C.char) C.SyStatus) ([]byte, error) {
	if c == nil || c.native == nil {
		return nil, badRequest("client", "the client is nil")
	}
	c.native.mu.RLock()
	defer c.native.mu.RUnlock()
	if c.native.ptr == nil {
		return nil, errClosed
	}
	var out *C.char
	status := q(c.native.ptr, &out)
	body := takeString(out)
	if status != C.SY_STATUS_OK {
		return nil, decodeError(body)
	}
	return body, nil
}

// Metrics is calls, latencies, tokens, cost and errors so far, per model and deployment.
func (c *Client) Metrics() (map[string]any, error) {
	return queryMap(c, func(p *C.SyClient, out **C.char) C.SyStatus { return C.sy_metrics(p, out) })
}

// Config is the config in force (secrets as references, never keys).
func (c *Client) Config() (map[string]any, error) {
	return queryMap(c, func(p *C.SyClient, out **C.char) C.SyStatus { return C.sy_config(p, out) })
}

func queryMap(c *Client, q func(*C.SyClient, **C.char) C.SyStatus) (map[string]any, error) {
	body, err := c.query(q)
	if err != nil {
		return nil, err
	}
	m, err := decode[map[string]any](body)
	if err != nil {
		return nil, err
	}
	return *m, nil
}

// Reload swaps in a new config (a file path as a string, or the document); an invalid one
// is refused with a KindConfig error and the old one stays.
func (c *Client) Reload(config any) error {
	body, err := encodeRequest(struct {
		Config any `json:"config"`
	}{config})
	if err != nil {
		return err
	}
	var doc struct{ Config json.RawMessage }
	_ = json.Unmarshal(body, &doc)
	_, err = c.query(func(p *C.SyClient, out **C.char) C.SyStatus {
		ptr, n := bytesArg(doc.Config)
		return C.sy_reload(p, ptr, n, out)
	})
	return err
}

// Flush returns once the usage recorded so far has reached the server (or its spool).
func (c *Client) Flush(ctx context.Context) error {
	if c.closed() {
		return errClosed
	}
	done, err := c.start(ctx, startFlush)
	if err == nil && !done.ok {
		err = decodeError(done.body)
	}
	return err
}

// Close lets the calls in flight finish (canceling them after 5 s), stops the config
// watcher, ships usage, and frees the engine. Later calls fail with KindUnavailable.
// Closing twice is harmless. Streams still open are closed by their own Close.
func (c *Client) Close() error {
	if c == nil || c.native == nil {
		return nil
	}
	return c.native.close(context.Background())
}

func (n *native) close(ctx context.Context) error {
	// New calls see a closed client at once; the engine's close waits for those in flight.
	n.mu.Lock()
	ptr := n.ptr
	n.ptr = nil
	n.mu.Unlock()
	if ptr == nil {
		return nil
	}
	done, err := await(ctx, startClose(ptr))
	C.sy_client_free(ptr)
	if err == nil && !done.ok {
		err = decodeError(done.body)
	}
	return err
}
