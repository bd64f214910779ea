// A streamed answer, read as openai-go's ssestream.Stream is (for stream.Next() {
// stream.Current() }; stream.Err()) or as a Go iterator (for chunk, err := range
// stream.All()). Each read is one asynchronous call of the C ABI.

package switchyard

/*
#include "switchyard.h"
*/
import "C"

import (
	"context"
	"encoding/json"
	"iter"
	"runtime"
	"sync"
)

// Stream is an open streamed answer. Next and Current from one goroutine; Close from any.
// A stream dropped without Close is closed once the garbage collector finds it.
type Stream[T any] struct {
	ctx    context.Context
	native *nativeStream
	// first is the first chunk, which came with the stream (`null`: it ended at once).
	first   []byte
	current T
	err     error
}

// nativeStream is the C stream, freed once (by Close, or by the cleanup of a dropped
// Stream); meta is kept from the moment it is freed.
type nativeStream struct {
	mu     sync.Mutex
	ptr    *C.SyStream
	closed bool
	meta   CallMeta
}

func (n *nativeStream) free() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.ptr != nil {
		n.meta = readMeta(n.ptr)
		C.sy_stream_free(n.ptr)
		n.ptr = nil
	}
	n.closed = true
}

func newStream[T any](ctx context.Context, ptr *C.SyStream, first []byte) *Stream[T] {
	s := &Stream[T]{ctx: ctx, native: &nativeStream{ptr: ptr}, first: first}
	runtime.AddCleanup(s, (*nativeStream).free, s.native)
	return s
}

func failedStream[T any](err error) *Stream[T] {
	return &Stream[T]{err: err, native: &nativeStream{closed: true}}
}

// Next reads the next chunk; false at the end, on an error (see Err) or once closed.
func (s *Stream[T]) Next() bool {
	if s.err != nil || s.isClosed() {
		return false
	}
	var done completion
	var err error
	if s.first != nil {
		done, s.first = completion{ok: true, body: s.first}, nil
	} else {
		n := s.native
		done, err = await(s.ctx, func(ud C.size_t) *C.SyCall {
			n.mu.Lock()
			defer n.mu.Unlock()
			return startStreamNext(n.ptr)(ud) // NULL once closed: the engine says so
		})
	}
	switch {
	case err != nil:
		s.err = err
	case !done.ok:
		if !s.isClosed() {
			s.err = decodeError(done.body)
		}
	case string(done.body) == "null":
	default:
		var chunk T
		if err := json.Unmarshal(done.body, &chunk); err != nil {
			s.err = &Error{Kind: KindInternal, Message: "unreadable chunk: " + err.Error()}
			break
		}
		s.current = chunk
		return true
	}
	s.Close()
	return false
}

// Current is the chunk the last Next read.
func (s *Stream[T]) Current() T { return s.current }

// Err is the error that ended the stream, nil at a normal end.
func (s *Stream[T]) Err() error { return s.err }

// All reads the rest of the stream as an iterator; a failure is the last pair's error.
// Breaking out of the loop closes the stream.
func (s *Stream[T]) All() iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		defer s.Close()
		for s.Next() {
			if !yield(s.Current(), nil) {
				return
			}
		}
		if s.err != nil {
			var zero T
			yield(zero, s.err)
		}
	}
}

// Switchyard is what the pipeline did for the call: complete (cost included) once the
// stream has ended or been closed.
func (s *Stream[T]) Switchyard() CallMeta {
	n := s.native
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.ptr != nil {
		n.meta = readMeta(n.ptr)
	}
	return n.meta
}

// Close stops reading and drops the upstream request. Closing twice is harmless.
func (s *Stream[T]) Close() error {
	s.native.free()
	return nil
}

func (s *Stream[T]) isClosed() bool {
	s.native.mu.Lock()
	defer s.native.mu.Unlock()
	return s.native.closed
}

func readMeta(ptr *C.SyStream) CallMeta {
	var out *C.char
	var meta CallMeta
	if C.sy_stream_meta(ptr, &out) == C.SY_STATUS_OK {
		_ = json.Unmarshal(takeString(out), &meta)
	} else {
		takeString(out)
	}
	return meta
}
