use crate::types::{
    ChatChunk, ChatResponse, Choice, Content, Extra, FinishReason, FunctionCall, Message, Role,
    ToolCall, Usage,
};

/// Folds stream chunks into the response a non-streaming call would have returned.
#[derive(Debug, Default, Clone)]
pub struct Assembler {
    id: String,
    model: String,
    created: u64,
    system_fingerprint: Option<String>,
    choices: Vec<ChoiceState>,
    usage: Option<Usage>,
}

#[derive(Debug, Default, Clone)]
struct ChoiceState {
    text: String,
    refusal: Option<String>,
    tool_calls: Vec<ToolCall>,
    finish_reason: Option<FinishReason>,
}

impl Assembler {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, chunk: &ChatChunk) {
        if self.id.is_empty() {
            self.id.clone_from(&chunk.id);
            self.model.clone_from(&chunk.model);
            self.created = chunk.created;
        }
        if chunk.system_fingerprint.is_some() {
            self.system_fingerprint
                .clone_from(&chunk.system_fingerprint);
        }
        if let Some(usage) = &chunk.usage {
            self.usage = Some(usage.clone());
        }
        for choice in &chunk.choices {
            let index = choice.index as usize;
            if self.choices.len() <= index {
                self.choices.resize_with(index + 1, ChoiceState::default);
            }
            let state = &mut self.choices[index];
            if let Some(text) = &choice.delta.content {
                state.text.push_str(text);
            }
            if let Some(refusal) = &choice.delta.refusal {
                state
                    .refusal
                    .get_or_insert_with(String::new)
                    .push_str(refusal);
            }
            for delta in choice.delta.tool_calls.iter().flatten() {
                let at = delta.index as usize;
                if state.tool_calls.len() <= at {
                    state.tool_calls.resize_with(at + 1, || ToolCall {
                        id: String::new(),
                        kind: "function".to_owned(),
                        function: FunctionCall {
                            name: String::new(),
                            arguments: String::new(),
                        },
                    });
                }
                let call = &mut state.tool_calls[at];
                if let Some(id) = &delta.id {
                    call.id.clone_from(id);
                }
                if let Some(function) = &delta.function {
                    if let Some(name) = &function.name {
                        call.function.name.push_str(name);
                    }
                    if let Some(arguments) = &function.arguments {
                        call.function.arguments.push_str(arguments);
                    }
                }
            }
            if choice.finish_reason.is_some() {
                state.finish_reason.clone_from(&choice.finish_reason);
            }
        }
    }

    /// The text of the first choice so far.
    pub fn text(&self) -> &str {
        self.choices.first().map(|c| c.text.as_str()).unwrap_or("")
    }

    pub fn usage(&self) -> Option<&Usage> {
        self.usage.as_ref()
    }

    /// Whether every choice seen so far has a finish reason.
    pub fn is_finished(&self) -> bool {
        !self.choices.is_empty() && self.choices.iter().all(|c| c.finish_reason.is_some())
    }

    pub fn finish(self) -> ChatResponse {
        let choices = self
            .choices
            .into_iter()
            .enumerate()
            .map(|(index, state)| Choice {
                index: index as u32,
                message: Message {
                    role: Role::Assistant,
                    content: (!state.text.is_empty() || state.tool_calls.is_empty())
                        .then_some(Content::Text(state.text)),
                    name: None,
                    tool_calls: (!state.tool_calls.is_empty()).then_some(state.tool_calls),
                    tool_call_id: None,
                    refusal: state.refusal,
                    extra: Extra::new(),
                },
                finish_reason: state.finish_reason,
                logprobs: None,
                extra: Extra::new(),
            })
            .collect();
        ChatResponse {
            id: self.id,
            object: "chat.completion".to_owned(),
            created: self.created,
            model: self.model,
            choices,
            usage: self.usage,
            system_fingerprint: self.system_fingerprint,
            extra: Extra::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{Delta, FunctionCallDelta, ToolCallDelta};

    #[test]
    fn folds_text_tool_calls_and_usage() {
        let mut a = Assembler::new();
        let base = ChatChunk::new("c1", "m", 5);
        a.push(&base.clone().with_delta(
            0,
            Delta {
                role: Some(Role::Assistant),
                ..Delta::default()
            },
            None,
        ));
        a.push(&base.clone().with_delta(0, Delta::text("Hel"), None));
        a.push(&base.clone().with_delta(0, Delta::text("lo"), None));
        let call = |id: Option<&str>, name: Option<&str>, args: &str| Delta {
            tool_calls: Some(vec![ToolCallDelta {
                index: 0,
                id: id.map(str::to_owned),
                kind: Some("function".into()),
                function: Some(FunctionCallDelta {
                    name: name.map(str::to_owned),
                    arguments: Some(args.to_owned()),
                }),
            }]),
            ..Delta::default()
        };
        a.push(
            &base
                .clone()
                .with_delta(0, call(Some("t1"), Some("f"), "{\"a\""), None),
        );
        a.push(
            &base
                .clone()
                .with_delta(0, call(None, None, ":1}"), Some(FinishReason::ToolCalls)),
        );
        let mut usage_chunk = base.clone();
        usage_chunk.usage = Some(Usage::new(7, 3));
        a.push(&usage_chunk);
        assert!(a.is_finished());
        let r = a.finish();
        assert_eq!(r.text(), "Hello");
        let calls = r.choices[0].message.tool_calls.as_ref().unwrap();
        assert_eq!(calls[0].id, "t1");
        assert_eq!(calls[0].function.arguments, "{\"a\":1}");
        assert_eq!(r.choices[0].finish_reason, Some(FinishReason::ToolCalls));
        assert_eq!(r.usage.unwrap().total_tokens, 10);
    }
}
