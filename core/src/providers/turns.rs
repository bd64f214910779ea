//! OpenAI messages as the strictly alternating user/assistant turns Anthropic's Messages
//! API and Bedrock's Converse both require, with the system prompts lifted out.

use serde_json::Value;

use crate::error::Result;
use crate::types::{Content, Message, Role};

/// How one wire format writes each kind of message as content blocks.
pub struct BlockWriter {
    pub user: fn(Option<&Content>, usize) -> Result<Vec<Value>>,
    pub assistant: fn(&Message, usize) -> Result<Vec<Value>>,
    pub tool_result: fn(&Message, usize) -> Result<Value>,
}

/// The system texts, and the turns: same-role neighbours (parallel tool results, a tool
/// result followed by a user remark) merge into one; tool results are user turns; turns
/// left without blocks are dropped.
pub type Turns = (Vec<String>, Vec<(&'static str, Vec<Value>)>);

pub fn alternating_turns(messages: &[Message], writer: &BlockWriter) -> Result<Turns> {
    let mut system: Vec<String> = Vec::new();
    let mut turns: Vec<(&'static str, Vec<Value>)> = Vec::new();
    for (i, message) in messages.iter().enumerate() {
        let (role, blocks) = match message.role {
            Role::System | Role::Developer => {
                let text = message.text();
                if !text.is_empty() {
                    system.push(text);
                }
                continue;
            }
            Role::User => ("user", (writer.user)(message.content.as_ref(), i)?),
            Role::Assistant => ("assistant", (writer.assistant)(message, i)?),
            Role::Tool => ("user", vec![(writer.tool_result)(message, i)?]),
        };
        if blocks.is_empty() {
            continue;
        }
        match turns.last_mut() {
            Some((last, existing)) if *last == role => existing.extend(blocks),
            _ => turns.push((role, blocks)),
        }
    }
    Ok((system, turns))
}
