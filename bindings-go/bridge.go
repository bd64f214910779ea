// Each asynchronous C ABI function bound to the exported callback (switchyardGoDone):
// cgo cannot take a Go function's address itself, and a file with //export may only
// declare in its preamble, so the bindings live here.

package switchyard

/*
#include <string.h>
#include "switchyard.h"

extern void switchyardGoDone(size_t, SyStatus, char *, size_t, SyStream *);

static void go_done(size_t ud, SyStatus status, const char *json, size_t len, SyStream *stream) {
	switchyardGoDone(ud, status, (char *)json, len, stream);
}
static SyCall *go_chat(const SyClient *c, const char *r, size_t rl, const char *o, size_t ol, size_t ud) {
	return sy_chat(c, r, rl, o, ol, go_done, ud);
}
static SyCall *go_chat_stream(const SyClient *c, const char *r, size_t rl, const char *o, size_t ol, size_t ud) {
	return sy_chat_stream(c, r, rl, o, ol, go_done, ud);
}
static SyCall *go_embed(const SyClient *c, const char *r, size_t rl, const char *o, size_t ol, size_t ud) {
	return sy_embed(c, r, rl, o, ol, go_done, ud);
}
static SyCall *go_stream_next(const SyStream *s, size_t ud) { return sy_stream_next(s, go_done, ud); }
static SyCall *go_flush(const SyClient *c, size_t ud) { return sy_flush(c, go_done, ud); }
static SyCall *go_close(const SyClient *c, size_t ud) { return sy_client_close(c, go_done, ud); }
*/
import "C"

// starter starts one asynchronous call with the given C user data (see await).
type starter = func(userData C.size_t) *C.SyCall

// request is which call a request starts.
type request int

const (
	requestChat request = iota
	requestChatStream
	requestEmbed
)

func startRequest(which request, client *C.SyClient, body, options []byte) starter {
	return func(ud C.size_t) *C.SyCall {
		r, rl := bytesArg(body)
		o, ol := bytesArg(options)
		switch which {
		case requestChatStream:
			return C.go_chat_stream(client, r, rl, o, ol, ud)
		case requestEmbed:
			return C.go_embed(client, r, rl, o, ol, ud)
		default:
			return C.go_chat(client, r, rl, o, ol, ud)
		}
	}
}

func startStreamNext(stream *C.SyStream) starter {
	return func(ud C.size_t) *C.SyCall { return C.go_stream_next(stream, ud) }
}

func startFlush(client *C.SyClient) starter {
	return func(ud C.size_t) *C.SyCall { return C.go_flush(client, ud) }
}

func startClose(client *C.SyClient) starter {
	return func(ud C.size_t) *C.SyCall { return C.go_close(client, ud) }
}
