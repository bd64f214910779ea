use crate::types::{ChatChunk, ChatResponse, Delta, FunctionCallDelta, Role, ToolCallDelta};

/// A whole response as the chunks a stream of it would carry: the role, the content, the
/// tool calls, the finish reason, then usage. Used to answer a streaming call from a
/// cached non-streaming answer.
pub fn replay_chunks(response: &ChatResponse) -> Vec<ChatChunk> {
    let base = ChatChunk::new(
        response.id.clone(),
        response.model.clone(),
        response.created,
    );
    let mut chunks = Vec::new();
    for choice in &response.choices {
        let role = Delta {
            role: Some(Role::Assistant),
            ..Delta::default()
        };
        chunks.push(base.clone().with_delta(choice.index, role, None));
        let text = choice.message.text();
        if !text.is_empty() {
            chunks.push(
                base.clone()
                    .with_delta(choice.index, Delta::text(text), None),
            );
        }
        for (i, call) in choice.message.tool_calls.iter().flatten().enumerate() {
            let delta = Delta {
                tool_calls: Some(vec![ToolCallDelta {
                    index: i as u32,
                    id: Some(call.id.clone()),
                    kind: Some(call.kind.clone()),
                    function: Some(FunctionCallDelta {
                        name: Some(call.function.name.clone()),
                        arguments: Some(call.function.arguments.clone()),
                    }),
                }]),
                ..Delta::default()
            };
            chunks.push(base.clone().with_delta(choice.index, delta, None));
        }
        chunks.push(base.clone().with_delta(
            choice.index,
            Delta::default(),
            choice.finish_reason.clone(),
        ));
    }
    if let Some(usage) = &response.usage {
        let mut last = base;
        last.usage = Some(usage.clone());
        chunks.push(last);
    }
    chunks
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stream::Assembler;
    use crate::types::{Choice, Extra, FinishReason, Message, Usage};

    #[test]
    fn replay_then_assemble_is_identity() {
        let response = ChatResponse {
            id: "r".into(),
            object: "chat.completion".into(),
            created: 9,
            model: "m".into(),
            choices: vec![Choice {
                index: 0,
                message: Message::assistant("Paris."),
                finish_reason: Some(FinishReason::Stop),
                logprobs: None,
                extra: Extra::new(),
            }],
            usage: Some(Usage::new(3, 2)),
            system_fingerprint: None,
            extra: Extra::new(),
        };
        let mut a = Assembler::new();
        for chunk in replay_chunks(&response) {
            a.push(&chunk);
        }
        assert_eq!(a.finish(), response);
    }
}
