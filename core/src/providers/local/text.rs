//! Text plumbing of local generation, free of llama.cpp: bytes of token pieces to UTF-8,
//! stop sequences held back until they are decided, and the sampling settings a request asks for.

use crate::error::{Error, Result};
use crate::types::ChatRequest;

/// Turns the byte pieces of successive tokens into text. A character split across tokens
/// (emoji, CJK, accented letters in byte-level BPE) is held until its last byte arrives;
/// bytes that can never be UTF-8 become U+FFFD instead of failing the call.
#[derive(Debug, Default)]
pub(crate) struct Utf8Decoder {
    pending: Vec<u8>,
}

impl Utf8Decoder {
    /// Appends `bytes` and returns the text that is complete so far.
    pub fn push(&mut self, bytes: &[u8]) -> String {
        self.pending.extend_from_slice(bytes);
        let mut out = String::new();
        loop {
            match std::str::from_utf8(&self.pending) {
                Ok(text) => {
                    out.push_str(text);
                    self.pending.clear();
                    return out;
                }
                Err(e) => {
                    let valid = e.valid_up_to();
                    // `valid` bytes were just checked to be UTF-8.
                    out.push_str(&String::from_utf8_lossy(&self.pending[..valid]));
                    match e.error_len() {
                        // An invalid sequence: replace it and go on after it.
                        Some(bad) => {
                            out.push(char::REPLACEMENT_CHARACTER);
                            self.pending.drain(..valid + bad);
                        }
                        // A character cut short: keep its start for the next token.
                        None => {
                            self.pending.drain(..valid);
                            return out;
                        }
                    }
                }
            }
        }
    }

    /// What is left at the end of generation (an incomplete character) as U+FFFD.
    pub fn finish(&mut self) -> String {
        let rest = String::from_utf8_lossy(&self.pending).into_owned();
        self.pending.clear();
        rest
    }
}

/// Holds back text that may be the start of a stop sequence, so a stop sequence never
/// reaches the caller, not even in part, however the tokens split it.
#[derive(Debug)]
pub(crate) struct StopMatcher {
    stops: Vec<String>,
    held: String,
}

/// What the matcher lets through for one piece of text.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Matched {
    /// Text that is safe to emit (may be empty); generation goes on.
    Emit(String),
    /// A stop sequence was found: emit this text (before the stop) and end.
    Stop(String),
}

impl StopMatcher {
    pub fn new(stops: Vec<String>) -> Self {
        StopMatcher {
            stops: stops.into_iter().filter(|s| !s.is_empty()).collect(),
            held: String::new(),
        }
    }

    pub fn push(&mut self, text: &str) -> Matched {
        if self.stops.is_empty() {
            return Matched::Emit(text.to_owned());
        }
        self.held.push_str(text);
        let first_stop = self
            .stops
            .iter()
            .filter_map(|s| self.held.find(s.as_str()))
            .min();
        if let Some(at) = first_stop {
            let before = self.held[..at].to_owned();
            self.held.clear();
            return Matched::Stop(before);
        }
        // Keep the longest tail that is a proper prefix of some stop sequence.
        let keep_from = self
            .held
            .char_indices()
            .map(|(i, _)| i)
            .find(|&i| {
                let tail = &self.held[i..];
                self.stops.iter().any(|s| s.starts_with(tail))
            })
            .unwrap_or(self.held.len());
        let emit = self.held[..keep_from].to_owned();
        self.held.drain(..keep_from);
        Matched::Emit(emit)
    }

    /// The text held back when generation ends without a stop sequence.
    pub fn finish(&mut self) -> String {
        std::mem::take(&mut self.held)
    }
}

/// How to pick each next token.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Sampling {
    /// 0 means greedy (always the most likely token).
    pub temperature: f32,
    pub top_p: f32,
    /// 0 turns top-k off.
    pub top_k: i32,
    pub seed: u32,
    /// 1.0 turns the repeat penalty off.
    pub repeat_penalty: f32,
    pub frequency_penalty: f32,
    pub presence_penalty: f32,
    /// Never end the turn: generate until `max_tokens` (benchmarks; llama.cpp's `ignore_eos`).
    pub ignore_eos: bool,
}

/// Tokens the repeat, frequency and presence penalties look back over.
pub(crate) const PENALTY_LAST_N: i32 = 64;

impl Sampling {
    /// The request's settings. `top_k`, `repeat_penalty` and `ignore_eos` are not OpenAI fields: they are
    /// read from the request's extra fields (as llama.cpp's server and vLLM accept them).
    /// Unset, the temperature is 0.8 (llama.cpp's default; OpenAI's 1.0 makes small models
    /// babble), top_p 0.95, top_k 40, no repeat penalty, and a random seed.
    pub fn from_request(request: &ChatRequest) -> Result<Self> {
        let extra_f64 = |name: &str| -> Result<Option<f64>> {
            match request.extra.get(name) {
                None | Some(serde_json::Value::Null) => Ok(None),
                Some(v) => v
                    .as_f64()
                    .map(Some)
                    .ok_or_else(|| Error::bad_request(name, "must be a number")),
            }
        };
        let temperature = request.temperature.unwrap_or(0.8);
        if !(0.0..=2.0).contains(&temperature) {
            return Err(Error::bad_request("temperature", "must be between 0 and 2"));
        }
        let top_p = request.top_p.unwrap_or(0.95);
        if !(top_p > 0.0 && top_p <= 1.0) {
            return Err(Error::bad_request("top_p", "must be in (0, 1]"));
        }
        let top_k = extra_f64("top_k")?.unwrap_or(40.0);
        if !(0.0..=1e6).contains(&top_k) || top_k.fract() != 0.0 {
            return Err(Error::bad_request("top_k", "must be a whole number >= 0"));
        }
        let repeat_penalty = extra_f64("repeat_penalty")?.unwrap_or(1.0);
        if !(repeat_penalty > 0.0 && repeat_penalty <= 10.0) {
            return Err(Error::bad_request("repeat_penalty", "must be in (0, 10]"));
        }
        let penalty = |value: Option<f64>, field: &str| -> Result<f32> {
            let v = value.unwrap_or(0.0);
            if (-2.0..=2.0).contains(&v) {
                Ok(v as f32)
            } else {
                Err(Error::bad_request(field, "must be between -2 and 2"))
            }
        };
        let seed = match request.seed {
            // llama.cpp seeds are 32-bit; fold the 64-bit request seed into one.
            Some(seed) => (seed as u64 ^ (seed as u64 >> 32)) as u32,
            None => rand::random::<u32>(),
        };
        let ignore_eos = match request.extra.get("ignore_eos") {
            None | Some(serde_json::Value::Null) => false,
            Some(v) => v
                .as_bool()
                .ok_or_else(|| Error::bad_request("ignore_eos", "must be a boolean"))?,
        };
        if ignore_eos && request.output_token_limit().is_none() {
            return Err(Error::bad_request(
                "ignore_eos",
                "needs max_tokens (otherwise generation only ends at the context window)",
            ));
        }
        Ok(Sampling {
            ignore_eos,
            temperature: temperature as f32,
            top_p: top_p as f32,
            top_k: top_k as i32,
            seed,
            repeat_penalty: repeat_penalty as f32,
            frequency_penalty: penalty(request.frequency_penalty, "frequency_penalty")?,
            presence_penalty: penalty(request.presence_penalty, "presence_penalty")?,
        })
    }

    pub fn is_greedy(&self) -> bool {
        self.temperature <= 0.0
    }

    pub fn has_penalties(&self) -> bool {
        self.repeat_penalty != 1.0 || self.frequency_penalty != 0.0 || self.presence_penalty != 0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::Message;

    #[test]
    fn utf8_split_across_tokens_is_held_until_complete() {
        let mut d = Utf8Decoder::default();
        let crab = "🦀".as_bytes();
        assert_eq!(d.push(b"a"), "a");
        assert_eq!(d.push(&crab[..1]), "");
        assert_eq!(d.push(&crab[1..3]), "");
        assert_eq!(d.push(&[crab[3], b'b']), "🦀b");
        let e = "é".as_bytes();
        assert_eq!(d.push(&e[..1]), "");
        assert_eq!(d.finish(), "\u{FFFD}");
    }

    #[test]
    fn utf8_invalid_bytes_become_replacement_characters() {
        let mut d = Utf8Decoder::default();
        assert_eq!(d.push(&[b'x', 0xFF, b'y']), "x\u{FFFD}y");
        assert_eq!(d.push(&[0xC3, b'z']), "\u{FFFD}z");
    }

    #[test]
    fn stop_sequences_are_held_back_and_cut() {
        let mut m = StopMatcher::new(vec!["\nUser:".into()]);
        assert_eq!(m.push("Paris is"), Matched::Emit("Paris is".into()));
        assert_eq!(m.push(" nice\nUs"), Matched::Emit(" nice".into()));
        assert_eq!(m.push("er: hi"), Matched::Stop("".into()));

        let mut m = StopMatcher::new(vec!["END".into(), "ab".into()]);
        assert_eq!(m.push("xxa"), Matched::Emit("xx".into()));
        assert_eq!(m.push("c"), Matched::Emit("ac".into()));
        assert_eq!(m.push("E"), Matched::Emit("".into()));
        assert_eq!(m.finish(), "E");

        let mut m = StopMatcher::new(vec!["é!".into()]);
        assert_eq!(m.push("café"), Matched::Emit("caf".into()));
        assert_eq!(m.push("!"), Matched::Stop("".into()));

        let mut none = StopMatcher::new(vec![String::new()]);
        assert_eq!(none.push("abc"), Matched::Emit("abc".into()));
    }

    #[test]
    fn sampling_reads_request_and_extra_fields() {
        let mut r = ChatRequest::new("m", vec![Message::user("hi")]);
        r.temperature = Some(0.0);
        r.seed = Some(7);
        r.extra.insert("top_k".into(), 5.into());
        r.extra.insert("repeat_penalty".into(), 1.3.into());
        let s = Sampling::from_request(&r).unwrap();
        assert!(s.is_greedy());
        assert_eq!((s.top_k, s.seed), (5, 7));
        assert!(s.has_penalties());

        r.extra.insert("top_k".into(), "many".into());
        let e = Sampling::from_request(&r).unwrap_err();
        assert_eq!(e.field(), Some("top_k"));
        r.extra.clear();
        r.temperature = Some(3.0);
        assert_eq!(
            Sampling::from_request(&r).unwrap_err().field(),
            Some("temperature")
        );
    }
}
