//! A batch's body on the wire and in the spool: `UsageBatch` as JSON, gzip-compressed.

use std::io::{Read, Write};

use bytes::Bytes;
use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;

use crate::sdk_protocol::{USAGE_MAX_BYTES, UsageBatch};
use crate::telemetry::UsageEvent;

/// An event as shipped: without `tenant` and `app`. The server charges the app whose key
/// sent the batch and refuses an event that names another, so a name here could only
/// cause a refusal: a config's `identity` labels that differ from the server's names, or
/// an app renamed while its events waited in the spool.
struct Shipped<'a>(&'a UsageEvent);

impl serde::Serialize for Shipped<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.0.tenant.is_none() && self.0.app.is_none() {
            return self.0.serialize(serializer);
        }
        let mut event = self.0.clone();
        event.tenant = None;
        event.app = None;
        event.serialize(serializer)
    }
}

/// A batch ready to send: its gzip body (`dropped` 0) and how many events it carries.
#[derive(Debug, Clone)]
pub(crate) struct Sealed {
    pub body: Bytes,
    pub events: u64,
}

/// The bodies for `events`: one, or more when the JSON would pass the server's
/// [`USAGE_MAX_BYTES`] (halved until each fits; a single event that does not is sent as
/// it is, and refused).
pub(crate) fn seal(events: &[UsageEvent]) -> Vec<Sealed> {
    let mut out = Vec::new();
    seal_into(events, &mut out);
    out
}

fn seal_into(events: &[UsageEvent], out: &mut Vec<Sealed>) {
    if events.is_empty() {
        return;
    }
    let batch = UsageBatch {
        dropped: 0,
        events: events.iter().map(Shipped).collect::<Vec<_>>(),
    };
    let json = match serde_json::to_vec(&batch) {
        Ok(json) => json,
        Err(error) => {
            tracing::warn!(%error, events = events.len(), "cannot encode usage events; dropped");
            return;
        }
    };
    if json.len() > USAGE_MAX_BYTES && events.len() > 1 {
        let (first, second) = events.split_at(events.len() / 2);
        seal_into(first, out);
        seal_into(second, out);
        return;
    }
    match gzip(&json) {
        Ok(body) => out.push(Sealed {
            body: Bytes::from(body),
            events: events.len() as u64,
        }),
        Err(error) => tracing::warn!(%error, "cannot compress a usage batch; dropped"),
    }
}

/// `body` with its `dropped` count set (re-encoded only when there is one to report).
pub(crate) fn with_dropped(body: &Bytes, dropped: u64) -> std::io::Result<Bytes> {
    if dropped == 0 {
        return Ok(body.clone());
    }
    let mut json = Vec::new();
    GzDecoder::new(&body[..]).read_to_end(&mut json)?;
    let mut batch: UsageBatch<serde_json::Value> =
        serde_json::from_slice(&json).map_err(std::io::Error::other)?;
    batch.dropped = dropped;
    let json = serde_json::to_vec(&batch).map_err(std::io::Error::other)?;
    gzip(&json).map(Bytes::from)
}

fn gzip(json: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut encoder = GzEncoder::new(Vec::with_capacity(json.len() / 4), Compression::default());
    encoder.write_all(json)?;
    encoder.finish()
}
