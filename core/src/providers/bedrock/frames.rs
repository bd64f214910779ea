//! The binary `application/vnd.amazon.eventstream` framing of ConverseStream: a prelude
//! (total and header lengths, CRC32), typed headers, a JSON payload, a CRC32 of the whole.
//!
//! Decoded here (about a hundred lines with `crc32fast`) rather than with
//! `aws-smithy-eventstream`, which brings the smithy type runtime along for the same job.
//! Each message becomes an [`SseEvent`] so the SSE stream machinery drives it unchanged:
//! `event` is the `:event-type` (or `:exception-type`, or `error`), `data` the payload.

use crate::error::{Error, Result};
use crate::providers::event_stream::EventParser;
use crate::providers::sse::SseEvent;

const PRELUDE: usize = 12;
/// Bigger messages are refused: Bedrock's are a few hundred bytes; AWS caps them at 16 MiB.
const MAX_MESSAGE: usize = 16 * 1024 * 1024;

/// What a message's `:message-type` header says it is.
pub const EXCEPTION_PREFIX: &str = "exception:";

/// Feed it bytes as they arrive; it hands back each complete, CRC-checked message.
#[derive(Debug, Default)]
pub struct FrameParser {
    buf: Vec<u8>,
}

impl EventParser for FrameParser {
    fn push(&mut self, bytes: &[u8], out: &mut Vec<SseEvent>) -> Result<()> {
        self.buf.extend_from_slice(bytes);
        let mut pos = 0;
        while self.buf.len() - pos >= PRELUDE {
            let frame = &self.buf[pos..];
            let total = be32(&frame[0..4]) as usize;
            let headers_len = be32(&frame[4..8]) as usize;
            if crc32fast::hash(&frame[..8]) != be32(&frame[8..12]) {
                return Err(malformed("prelude CRC mismatch"));
            }
            if total > MAX_MESSAGE || total < PRELUDE + headers_len + 4 {
                return Err(malformed("impossible message length"));
            }
            if frame.len() < total {
                break;
            }
            let (body, crc) = frame[..total].split_at(total - 4);
            if crc32fast::hash(body) != be32(crc) {
                return Err(malformed("message CRC mismatch"));
            }
            let headers = parse_headers(&body[PRELUDE..PRELUDE + headers_len])?;
            let payload = &body[PRELUDE + headers_len..];
            out.push(to_event(&headers, payload));
            pos += total;
        }
        self.buf.drain(..pos);
        Ok(())
    }
}

fn be32(bytes: &[u8]) -> u32 {
    let mut word = [0u8; 4];
    word.copy_from_slice(&bytes[..4]);
    u32::from_be_bytes(word)
}

fn malformed(what: &str) -> Error {
    Error::malformed(200, format!("unreadable event stream: {what}"))
}

/// The string-valued headers (the only ones Bedrock sends); others are skipped.
fn parse_headers(mut bytes: &[u8]) -> Result<Vec<(String, String)>> {
    let mut headers = Vec::new();
    let take = |bytes: &mut &[u8], n: usize| -> Result<Vec<u8>> {
        if bytes.len() < n {
            return Err(malformed("truncated header"));
        }
        let (head, tail) = bytes.split_at(n);
        *bytes = tail;
        Ok(head.to_vec())
    };
    while !bytes.is_empty() {
        let name_len = usize::from(take(&mut bytes, 1)?[0]);
        let name = String::from_utf8_lossy(&take(&mut bytes, name_len)?).into_owned();
        let kind = take(&mut bytes, 1)?[0];
        let fixed = match kind {
            0 | 1 => 0,
            2 => 1,
            3 => 2,
            4 => 4,
            5 | 8 => 8,
            9 => 16,
            6 | 7 => {
                let len = take(&mut bytes, 2)?;
                let len = usize::from(u16::from_be_bytes([len[0], len[1]]));
                let value = take(&mut bytes, len)?;
                if kind == 7 {
                    headers.push((name, String::from_utf8_lossy(&value).into_owned()));
                }
                continue;
            }
            _ => return Err(malformed("unknown header type")),
        };
        take(&mut bytes, fixed)?;
    }
    Ok(headers)
}

fn to_event(headers: &[(String, String)], payload: &[u8]) -> SseEvent {
    let header = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    let data = String::from_utf8_lossy(payload).into_owned();
    match header(":message-type") {
        Some("exception") => SseEvent {
            event: Some(format!(
                "{EXCEPTION_PREFIX}{}",
                header(":exception-type").unwrap_or("unknown")
            )),
            data,
        },
        Some("error") => SseEvent {
            event: Some(format!(
                "{EXCEPTION_PREFIX}{}",
                header(":error-code").unwrap_or("unknown")
            )),
            data: serde_json::json!({"message": header(":error-message").unwrap_or_default()})
                .to_string(),
        },
        _ => SseEvent {
            event: header(":event-type").map(str::to_owned),
            data,
        },
    }
}

/// Encodes one message, for these tests (the mock provider has its own encoder).
#[cfg(test)]
pub fn encode(headers: &[(&str, &str)], payload: &[u8]) -> Vec<u8> {
    let mut head = Vec::new();
    for (name, value) in headers {
        head.push(u8::try_from(name.len()).unwrap_or(u8::MAX));
        head.extend_from_slice(name.as_bytes());
        head.push(7);
        head.extend_from_slice(&u16::try_from(value.len()).unwrap_or(u16::MAX).to_be_bytes());
        head.extend_from_slice(value.as_bytes());
    }
    let total = PRELUDE + head.len() + payload.len() + 4;
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(&u32::try_from(total).unwrap_or(u32::MAX).to_be_bytes());
    out.extend_from_slice(&u32::try_from(head.len()).unwrap_or(u32::MAX).to_be_bytes());
    let prelude_crc = crc32fast::hash(&out);
    out.extend_from_slice(&prelude_crc.to_be_bytes());
    out.extend_from_slice(&head);
    out.extend_from_slice(payload);
    let crc = crc32fast::hash(&out);
    out.extend_from_slice(&crc.to_be_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(kind: &str, payload: &str) -> Vec<u8> {
        encode(
            &[
                (":event-type", kind),
                (":content-type", "application/json"),
                (":message-type", "event"),
            ],
            payload.as_bytes(),
        )
    }

    #[test]
    fn every_split_point_gives_the_same_messages() {
        let mut input = event("messageStart", r#"{"role":"assistant"}"#);
        input.extend(encode(
            &[
                (":exception-type", "throttlingException"),
                (":message-type", "exception"),
            ],
            br#"{"message":"slow down"}"#,
        ));
        for piece in 1..=input.len() {
            let mut parser = FrameParser::default();
            let mut out = Vec::new();
            for chunk in input.chunks(piece) {
                parser.push(chunk, &mut out).unwrap();
            }
            assert_eq!(out.len(), 2, "piece {piece}");
            assert_eq!(out[0].event.as_deref(), Some("messageStart"));
            assert_eq!(out[0].data, r#"{"role":"assistant"}"#);
            assert_eq!(
                out[1].event.as_deref(),
                Some("exception:throttlingException")
            );
        }
    }

    #[test]
    fn a_flipped_bit_fails_the_crc() {
        let mut input = event("messageStop", r#"{"stopReason":"end_turn"}"#);
        let last = input.len() - 6;
        input[last] ^= 1;
        let e = FrameParser::default()
            .push(&input, &mut Vec::new())
            .unwrap_err();
        assert!(e.message().contains("CRC"), "{e}");
        let mut prelude = event("x", "{}");
        prelude[2] ^= 1;
        assert!(
            FrameParser::default()
                .push(&prelude, &mut Vec::new())
                .is_err()
        );
    }
}
