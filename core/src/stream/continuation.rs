//! `on_stream_error: continue`: a stream broke after the caller saw part of the answer, so
//! a fallback is asked to carry on from that partial answer, and its chunks are stitched
//! onto the ones already delivered.

use crate::config::ProviderKind;
use crate::types::{ChatRequest, Message};

/// What non-prefill providers are told after the partial answer.
const CONTINUE_INSTRUCTION: &str = "Your previous answer was cut off. Continue it from exactly where it \
stopped, without repeating any of it and without any preamble.";

/// The request that asks a deployment of `kind` to continue `partial`.
///
/// Anthropic continues a trailing assistant turn natively (prefill), which must not end in
/// white space. Other APIs answer a new turn instead, so they get the partial answer as an
/// assistant turn and a user turn asking for the rest.
pub fn continuation_request(
    original: &ChatRequest,
    partial: &str,
    kind: ProviderKind,
) -> ChatRequest {
    let mut request = original.clone();
    match kind {
        ProviderKind::Anthropic => {
            request
                .messages
                .push(Message::assistant(partial.trim_end()));
        }
        _ => {
            request.messages.push(Message::assistant(partial));
            request.messages.push(Message::user(CONTINUE_INSTRUCTION));
        }
    }
    request
}

/// How much of a continuation's opening text repeats the partial answer: a fallback that
/// starts over instead of continuing must not make the caller read the answer twice.
///
/// Returns `None` while `opening` is still a prefix of `partial` and shorter than it (the
/// caller should buffer more), else the number of leading bytes of `opening` to drop.
pub fn strip_repeated_prefix(partial: &str, opening: &str) -> Option<usize> {
    let partial = partial.trim_end();
    if partial.is_empty() {
        return Some(0);
    }
    let opening_trimmed = opening.trim_start();
    let lead = opening.len() - opening_trimmed.len();
    if opening_trimmed.len() < partial.len() {
        return if partial.starts_with(opening_trimmed) {
            None
        } else {
            Some(0)
        };
    }
    if opening_trimmed.starts_with(partial) {
        Some(lead + partial.len())
    } else {
        Some(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::Role;

    #[test]
    fn prefill_for_anthropic_instruction_for_others() {
        let original = ChatRequest::new("chat", vec![Message::user("Count to five.")]);
        let anthropic = continuation_request(&original, "One, two, ", ProviderKind::Anthropic);
        assert_eq!(anthropic.messages.len(), 2);
        assert_eq!(anthropic.messages[1].role, Role::Assistant);
        assert_eq!(anthropic.messages[1].text(), "One, two,");

        let openai = continuation_request(&original, "One, two, ", ProviderKind::OpenAi);
        assert_eq!(openai.messages.len(), 3);
        assert_eq!(openai.messages[1].text(), "One, two, ");
        assert_eq!(openai.messages[2].role, Role::User);
    }

    #[test]
    fn drops_a_restarted_answer_keeps_a_continuation() {
        assert_eq!(strip_repeated_prefix("One, two,", "One,"), None);
        assert_eq!(
            strip_repeated_prefix("One, two,", "One, two, three"),
            Some(9)
        );
        assert_eq!(strip_repeated_prefix("One, two,", " three, four"), Some(0));
        assert_eq!(strip_repeated_prefix("One, two,", "Three"), Some(0));
        assert_eq!(strip_repeated_prefix("", "anything"), Some(0));
    }
}
