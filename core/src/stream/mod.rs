//! Streams as whole answers: assembling chunks into a response (for usage, the cache and
//! stream continuation), replaying a response as chunks, and continuing a broken stream.

mod assemble;
mod continuation;
mod replay;

pub use assemble::Assembler;
pub use continuation::{continuation_request, strip_repeated_prefix};
pub use replay::replay_chunks;
