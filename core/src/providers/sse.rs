//! Incremental Server-Sent Events parser that survives real networks: frames split across
//! reads at any byte, CRLF/CR/LF line endings (even a CRLF split between two reads),
//! comments and keep-alive pings, multi-line `data:` fields and a leading BOM.

use memchr::memchr2;

/// One dispatched event. `event` is `None` for the default `message` type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    pub event: Option<String>,
    pub data: String,
}

/// Feed it bytes as they arrive; it hands back each complete event once.
#[derive(Debug, Default)]
pub struct SseParser {
    buf: Vec<u8>,
    event: Option<String>,
    data: String,
    has_data: bool,
    /// The last byte consumed was a CR, so an LF that opens the next read belongs to it.
    after_cr: bool,
    started: bool,
}

const BOM: &[u8] = b"\xEF\xBB\xBF";

impl SseParser {
    pub fn new() -> Self {
        Self::default()
    }

    /// Consume `bytes`, appending every event they complete to `out`.
    pub fn push(&mut self, bytes: &[u8], out: &mut Vec<SseEvent>) {
        self.buf.extend_from_slice(bytes);
        if !self.started {
            if self.buf.len() < BOM.len() && BOM.starts_with(&self.buf) {
                return;
            }
            if self.buf.starts_with(BOM) {
                self.buf.drain(..BOM.len());
            }
            self.started = true;
        }
        let mut pos = 0;
        loop {
            if self.after_cr && pos < self.buf.len() {
                if self.buf[pos] == b'\n' {
                    pos += 1;
                }
                self.after_cr = false;
            }
            let Some(offset) = memchr2(b'\n', b'\r', &self.buf[pos..]) else {
                break;
            };
            let end = pos + offset;
            self.after_cr = self.buf[end] == b'\r';
            let line = std::mem::take(&mut self.buf);
            self.line(&line[pos..end], out);
            self.buf = line;
            pos = end + 1;
        }
        self.buf.drain(..pos);
    }

    /// Whether bytes of an unfinished line or event are pending (at end of input they are
    /// discarded, as the SSE spec says).
    pub fn has_partial(&self) -> bool {
        !self.buf.is_empty() || self.has_data
    }

    fn line(&mut self, line: &[u8], out: &mut Vec<SseEvent>) {
        if line.is_empty() {
            self.dispatch(out);
            return;
        }
        if line[0] == b':' {
            return;
        }
        let (field, value) = match memchr::memchr(b':', line) {
            Some(i) => {
                let value = &line[i + 1..];
                (&line[..i], value.strip_prefix(b" ").unwrap_or(value))
            }
            None => (line, &b""[..]),
        };
        match field {
            b"data" => {
                if self.has_data {
                    self.data.push('\n');
                }
                self.data.push_str(&String::from_utf8_lossy(value));
                self.has_data = true;
            }
            b"event" => self.event = Some(String::from_utf8_lossy(value).into_owned()),
            _ => {}
        }
    }

    fn dispatch(&mut self, out: &mut Vec<SseEvent>) {
        let event = self.event.take();
        if !self.has_data {
            return;
        }
        self.has_data = false;
        out.push(SseEvent {
            event,
            data: std::mem::take(&mut self.data),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_in_pieces(input: &[u8], piece: usize) -> Vec<SseEvent> {
        let mut parser = SseParser::new();
        let mut out = Vec::new();
        for chunk in input.chunks(piece) {
            parser.push(chunk, &mut out);
        }
        out
    }

    fn ev(event: Option<&str>, data: &str) -> SseEvent {
        SseEvent {
            event: event.map(str::to_owned),
            data: data.to_owned(),
        }
    }

    #[test]
    fn every_split_point_gives_the_same_events() {
        let input = b"\xEF\xBB\xBF: keep-alive\r\n\r\nevent: message_start\r\ndata: {\"a\":1}\r\n\r\ndata: line1\ndata: line2\n\ndata:nospace\r\rdata: [DONE]\n\n";
        let expected = vec![
            ev(Some("message_start"), "{\"a\":1}"),
            ev(None, "line1\nline2"),
            ev(None, "nospace"),
            ev(None, "[DONE]"),
        ];
        for piece in 1..=input.len() {
            assert_eq!(
                parse_in_pieces(input, piece),
                expected,
                "piece size {piece}"
            );
        }
    }

    #[test]
    fn event_without_data_is_not_dispatched_and_type_resets() {
        let events = parse_in_pieces(b"event: ping\n\ndata: x\n\n", 4);
        assert_eq!(events, vec![ev(None, "x")]);
    }

    #[test]
    fn unfinished_event_stays_pending() {
        let mut parser = SseParser::new();
        let mut out = Vec::new();
        parser.push(b"data: {\"partial\":", &mut out);
        assert!(out.is_empty());
        assert!(parser.has_partial());
    }
}
