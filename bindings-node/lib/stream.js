//! A streamed chat completion: an async iterable of chunks, as the `openai` package's
//! `Stream`. Breaking out of `for await`, `controller.abort()`, the call's signal or
//! `close()` stop it and drop the upstream request.
'use strict';

const { call } = require('./call');
const { CanceledError } = require('./errors');

const ABORTED = 'the stream was aborted';

class Stream {
  constructor(handle, signal) {
    this._handle = handle;
    this.controller = new AbortController();
    this._signal = signal ? AbortSignal.any([signal, this.controller.signal]) : this.controller.signal;
    this._onAbort = () => this.close();
    this._signal.addEventListener('abort', this._onAbort, { once: true });
  }

  /** The next chunk, or null at the end; a CanceledError once aborted (whichever of the
   * abort and the read finished first). */
  async next() {
    const read = this._signal.aborted ? null : call((task) => this._handle.next(task), this._signal);
    const chunk = await read?.catch((error) => {
      if (!this._signal.aborted) throw error;
    });
    if (this._signal.aborted) throw new CanceledError(ABORTED, { kind: 'canceled', message: ABORTED });
    if (chunk === null) this.close();
    return chunk;
  }

  async *[Symbol.asyncIterator]() {
    try {
      for (;;) {
        const chunk = await this.next();
        if (chunk === null) return;
        yield chunk;
      }
    } finally {
      this.close();
    }
  }

  /** What the pipeline did; complete (cost included) once the stream has ended. */
  get switchyard() {
    return this._handle.meta();
  }

  get closed() {
    return this._handle.closed;
  }

  close() {
    this._signal.removeEventListener('abort', this._onAbort);
    this._handle.close();
  }
}

module.exports = { Stream };
