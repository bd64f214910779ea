//! The binding surface: everything a language binding (Python, Node, Java, Go) needs from
//! the engine, defined once, so that a binding only maps types, maps errors in one small
//! function and bridges its event loop (see `docs/bindings.md`).
//!
//! - [`ClientSpec`]: where the config comes from (a file, a value, the management server,
//!   the environment), with one precedence and one set of errors in every language.
//! - [`ClientHandle`]: the engine of this process (made again in a forked child), taking
//!   requests, options and configs as JSON values and answering JSON values.
//! - [`CallOptions`](crate::CallOptions), [`CallMeta`](crate::CallMeta) and
//!   [`Error`](crate::Error) as serde data: one documented shape for every binding.
//! - Two call styles: [`block_on`] (a thread waits, with a hook to let the host run its
//!   signal handlers) and [`spawn`] (a completion callback, for event loops).
//! - [`StreamHandle`]: a streamed call as `next` / `close`, for an iterator of any kind.
//! - [`before_fork`]: the process's runtime quiesced before a fork; [`at_exit`]: what is
//!   buffered exported, callbacks into the host stopped and the runtime shut down before
//!   the process ends.

mod handle;
mod runtime;
mod source;
mod stream;
mod wire;

pub use handle::ClientHandle;
pub use runtime::{
    CallHandle, Live, at_exit, before_fork, block_on, catch_panic, inline_window, runtime, spawn,
    start,
};
pub use source::{ClientSpec, ConfigInput};
pub use stream::StreamHandle;
pub use wire::{
    CHAT_COMPLETION, CHAT_COMPLETION_CHUNK, EMBEDDING_RESPONSE, ErrorData, Shape, outcome_json,
};
