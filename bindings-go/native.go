// The cgo boundary: where the library is found, and the one callback every asynchronous
// call of the C ABI completes through. A call's Go side is a buffered channel registered
// as a runtime/cgo.Handle; C holds only that integer, never a Go pointer.

package switchyard

/*
#cgo CFLAGS: -I${SRCDIR}/../bindings-c/include
#cgo LDFLAGS: -L${SRCDIR}/lib -lswitchyard_c -Wl,-rpath,${SRCDIR}/lib
#include <stdlib.h>
#include <string.h>
#include "switchyard.h"
*/
import "C"

import (
	"context"
	"runtime/cgo"
	"unsafe"
)

// completion is what a call's callback hands over: the answer or the error's JSON, and
// the stream a streamed call opened.
type completion struct {
	ok     bool
	body   []byte
	stream *C.SyStream
}

//export switchyardGoDone
func switchyardGoDone(userData C.size_t, status C.SyStatus, json *C.char, n C.size_t, stream *C.SyStream) {
	h := cgo.Handle(userData)
	done := h.Value().(chan completion)
	h.Delete()
	// The JSON is borrowed for the callback only: copied here.
	done <- completion{ok: status == C.SY_STATUS_OK, body: C.GoBytes(unsafe.Pointer(json), C.int(n)), stream: stream}
}

// await starts a call (start passes the handle as the C user data) and waits for its
// callback, or for ctx: then the call is canceled, which drops its upstream request.
func await(ctx context.Context, start func(userData C.size_t) *C.SyCall) (completion, error) {
	if err := ctx.Err(); err != nil {
		return completion{}, contextError(err)
	}
	done := make(chan completion, 1)
	call := start(C.size_t(cgo.NewHandle(done)))
	if call == nil { // the call could not start: its callback has already run
		return <-done, nil
	}
	defer C.sy_call_free(call)
	select {
	case c := <-done:
		return c, nil
	case <-ctx.Done():
		C.sy_call_cancel(call)
		// The callback follows at once (with `canceled`, or the answer that won the race).
		if c := <-done; c.stream != nil {
			C.sy_stream_free(c.stream)
		}
		return completion{}, contextError(ctx.Err())
	}
}

// bytesArg is a Go byte slice as a C argument. C reads it before the call returns and
// keeps nothing (the C ABI's contract), so no copy is made.
func bytesArg(b []byte) (*C.char, C.size_t) {
	if len(b) == 0 {
		return nil, 0
	}
	return (*C.char)(unsafe.Pointer(unsafe.SliceData(b))), C.size_t(len(b))
}

// takeString copies a string the library wrote to an out parameter and frees it.
func takeString(s *C.char) []byte {
	if s == nil {
		return nil
	}
	defer C.sy_string_free(s)
	return C.GoBytes(unsafe.Pointer(s), C.int(C.strlen(s)))
}

// Version is the engine's version.
func Version() string { return C.GoString(C.sy_version()) }

// Shutdown stops the engine at the end of a program (defer it in main): the usage still
// queued is shipped and buffered telemetry exported. Calls after it fail with
// KindUnavailable.
func Shutdown() { C.sy_at_exit() }

// parseYAML reads YAML (or JSON) with the engine's own reader, as JSON (the conformance
// runner reads scenario files with it, exactly as the Rust runner does).
func parseYAML(text []byte) ([]byte, error) {
	ptr, n := bytesArg(text)
	var out *C.char
	status := C.sy_parse_yaml(ptr, n, &out)
	body := takeString(out)
	if status != C.SY_STATUS_OK {
		return nil, decodeError(body)
	}
	return body, nil
}
