//! Restoring masked values in the answer: each placeholder the request was sent with is
//! replaced by the value it hid. A stream holds back only a possible placeholder's start
//! (from an unclosed `[`, at most a placeholder long) until it is complete.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

use crate::types::{ChatChunk, ChatResponse, Content, ContentPart};

/// The originals of one masked request.
#[derive(Debug, Clone)]
pub struct Restorer {
    originals: HashMap<String, String>,
    /// The longest placeholder: a longer unclosed `[...` cannot be one.
    longest: usize,
}

impl Restorer {
    pub fn new(originals: Vec<(String, String)>) -> Restorer {
        let longest = originals.iter().map(|(p, _)| p.len()).max().unwrap_or(0);
        Restorer {
            originals: originals.into_iter().collect(),
            longest,
        }
    }

    /// `text` with every known placeholder replaced; borrowed when there is none.
    pub fn restore<'t>(&self, text: &'t str) -> Cow<'t, str> {
        if !text.contains('[') {
            return Cow::Borrowed(text);
        }
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        let mut changed = false;
        while let Some(open) = rest.find('[') {
            let after = &rest[open..];
            let close = after.find(']').filter(|c| *c < self.longest);
            match close.and_then(|c| self.originals.get(&after[..=c]).map(|v| (c, v))) {
                Some((c, value)) => {
                    out.push_str(&rest[..open]);
                    out.push_str(value);
                    rest = &after[c + 1..];
                    changed = true;
                }
                None => {
                    out.push_str(&rest[..=open]);
                    rest = &after[1..];
                }
            }
        }
        if !changed {
            return Cow::Borrowed(text);
        }
        out.push_str(rest);
        Cow::Owned(out)
    }

    /// Restores a whole answer: each choice's text and its tool calls' arguments.
    pub fn restore_response(&self, response: &mut ChatResponse) {
        for choice in &mut response.choices {
            let message = &mut choice.message;
            match &mut message.content {
                Some(Content::Text(text)) => self.restore_in_place(text),
                Some(Content::Parts(parts)) => {
                    for part in parts {
                        if let ContentPart::Text { text } = part {
                            self.restore_in_place(text);
                        }
                    }
                }
                None => {}
            }
            for call in message.tool_calls.iter_mut().flatten() {
                self.restore_in_place(&mut call.function.arguments);
            }
        }
    }

    fn restore_in_place(&self, text: &mut String) {
        if let Cow::Owned(restored) = self.restore(text) {
            *text = restored;
        }
    }
}

/// Restores a stream's text chunk by chunk, per choice.
#[derive(Debug)]
pub struct StreamRestorer {
    restorer: Restorer,
    held: BTreeMap<u32, String>,
}

impl StreamRestorer {
    pub fn new(restorer: Restorer) -> StreamRestorer {
        StreamRestorer {
            restorer,
            held: BTreeMap::new(),
        }
    }

    /// Rewrites a chunk's text: what is safe to show, restored; a possible placeholder's
    /// start is held for the next chunk, and everything held goes out with a finish reason.
    pub fn chunk(&mut self, chunk: &mut ChatChunk) {
        for choice in &mut chunk.choices {
            let held = self.held.entry(choice.index).or_default();
            let had_text = choice.delta.content.take().map(|text| held.push_str(&text));
            let cut = if choice.finish_reason.is_some() {
                held.len()
            } else {
                safe_prefix(held, self.restorer.longest)
            };
            if cut > 0 || had_text.is_some() {
                let out: String = held.drain(..cut).collect();
                choice.delta.content = Some(self.restorer.restore(&out).into_owned());
            }
        }
    }

    /// What is still held at the end of a stream that gave no finish reason, per choice.
    pub fn rest(&mut self) -> Vec<(u32, String)> {
        std::mem::take(&mut self.held)
            .into_iter()
            .filter(|(_, text)| !text.is_empty())
            .map(|(index, text)| (index, self.restorer.restore(&text).into_owned()))
            .collect()
    }
}

/// How much of `held` may go out: all of it, unless it ends in an unclosed `[` short
/// enough to be the start of a placeholder.
fn safe_prefix(held: &str, longest: usize) -> usize {
    match held.rfind('[') {
        Some(open) if !held[open..].contains(']') && held.len() - open < longest => open,
        _ => held.len(),
    }
}
