//! The management server's usage endpoint, per session: `POST /sdk/v1/usage` batches (gzip
//! or plain JSON) are kept as received, so a conformance scenario can check what an SDK
//! shipped (`GET /_mock/usage`), the raw text included.

use std::io::Read;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// The SDK protocol's usage path (`switchyard::sdk_protocol::USAGE_PATH`).
pub(crate) const USAGE_PATH: &str = "/sdk/v1/usage";

/// One usage batch as an SDK sent it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UsageBody {
    /// The body's JSON text, gzip-decoded: what crossed the wire.
    pub raw: String,
    /// Its `events`.
    pub events: Vec<Value>,
}

/// Decodes a batch; the error is the 400's message.
pub(crate) fn decode(gzip: bool, body: &[u8]) -> Result<UsageBody, String> {
    let mut text = String::new();
    if gzip {
        flate2::read::GzDecoder::new(body)
            .read_to_string(&mut text)
            .map_err(|e| format!("not gzip: {e}"))?;
    } else {
        text = String::from_utf8(body.to_vec()).map_err(|e| e.to_string())?;
    }
    let batch: Value = serde_json::from_str(&text).map_err(|e| format!("not JSON: {e}"))?;
    let events = batch
        .get("events")
        .and_then(Value::as_array)
        .cloned()
        .ok_or("a usage batch needs `events`")?;
    Ok(UsageBody { raw: text, events })
}

/// The server's ack: every event accepted.
pub(crate) fn ack(body: &UsageBody) -> Value {
    json!({"accepted": body.events.len(), "duplicates": 0, "rejected": 0})
}
