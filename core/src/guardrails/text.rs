//! The text of a request that guardrails read and mask: each message's text (its text
//! parts), the arguments of the tool calls it carries, and an embedding's input texts.

use crate::types::{ChatRequest, Content, ContentPart, EmbeddingInput, EmbeddingRequest};

/// A request whose text guardrails can read and rewrite.
pub trait Texts {
    /// Every piece of text, in order.
    fn texts(&self) -> Vec<&str>;

    /// Every piece of text, to rewrite in place.
    fn texts_mut(&mut self) -> Vec<&mut String>;
}

impl Texts for ChatRequest {
    fn texts(&self) -> Vec<&str> {
        let mut out = Vec::new();
        for message in &self.messages {
            match &message.content {
                Some(Content::Text(text)) => out.push(text.as_str()),
                Some(Content::Parts(parts)) => out.extend(parts.iter().filter_map(|p| match p {
                    ContentPart::Text { text } => Some(text.as_str()),
                    _ => None,
                })),
                None => {}
            }
            for call in message.tool_calls.iter().flatten() {
                out.push(call.function.arguments.as_str());
            }
        }
        out
    }

    fn texts_mut(&mut self) -> Vec<&mut String> {
        let mut out = Vec::new();
        for message in &mut self.messages {
            match &mut message.content {
                Some(Content::Text(text)) => out.push(text),
                Some(Content::Parts(parts)) => {
                    out.extend(parts.iter_mut().filter_map(|p| match p {
                        ContentPart::Text { text } => Some(text),
                        _ => None,
                    }))
                }
                None => {}
            }
            for call in message.tool_calls.iter_mut().flatten() {
                out.push(&mut call.function.arguments);
            }
        }
        out
    }
}

impl Texts for EmbeddingRequest {
    fn texts(&self) -> Vec<&str> {
        self.input.texts().unwrap_or_default()
    }

    fn texts_mut(&mut self) -> Vec<&mut String> {
        match &mut self.input {
            EmbeddingInput::Text(text) => vec![text],
            EmbeddingInput::Texts(texts) => texts.iter_mut().collect(),
            _ => Vec::new(),
        }
    }
}
