//! Call logs (issue 26, `docs/call-logs.md`): an app's policy ([`policy`]), the content an
//! SDK or the gateway ships beside a usage event, read from the event's raw JSON with the
//! server's own struct ([`content`]), what of a batch's content is kept ([`intake`]), how
//! it is sealed at rest ([`sealing`]), and the pruning job ([`retention`]).

pub mod content;
pub mod intake;
pub mod policy;
pub mod retention;
pub mod sealing;
