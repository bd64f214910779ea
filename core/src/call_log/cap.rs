//! The size cap: the serialized content never passes `max_bytes`. The longest strings are
//! cut first (at a character boundary, so the JSON stays valid UTF-8), which keeps the
//! shape of the conversation and shortens what is long.

use serde_json::Value;

use crate::telemetry::CallContent;

fn size(content: &CallContent) -> u64 {
    serde_json::to_vec(content).map_or(u64::MAX, |json| json.len() as u64)
}

/// The longest string in `value`.
fn longest(value: &mut Value) -> Option<&mut String> {
    match value {
        Value::String(text) => Some(text),
        Value::Array(items) => items.iter_mut().filter_map(longest).max_by_key(|s| s.len()),
        Value::Object(fields) => fields
            .values_mut()
            .filter_map(longest)
            .max_by_key(|s| s.len()),
        _ => None,
    }
}

/// Cuts `text` by at least `bytes` (all of it when shorter), at a character boundary.
fn shorten(text: &mut String, bytes: u64) {
    let mut keep = text
        .len()
        .saturating_sub(usize::try_from(bytes).unwrap_or(usize::MAX));
    while !text.is_char_boundary(keep) {
        keep -= 1;
    }
    text.truncate(keep);
}

/// `content` within `max_bytes` of JSON, marked `truncated` when cut; None when even with
/// every string emptied it does not fit.
pub(super) fn cap(mut content: CallContent, max_bytes: u64) -> Option<CallContent> {
    // Twice: the figure's own digits are part of the size.
    content.original_bytes = size(&content);
    content.original_bytes = size(&content);
    if content.original_bytes <= max_bytes {
        return Some(content);
    }
    content.truncated = true;
    loop {
        let excess = match size(&content).checked_sub(max_bytes) {
            None | Some(0) => return Some(content),
            Some(excess) => excess,
        };
        let error = content.error.as_mut();
        let in_json = [&mut content.request]
            .into_iter()
            .chain(content.response.as_mut())
            .filter_map(longest)
            .max_by_key(|s| s.len());
        let target = match (in_json, error) {
            (Some(a), Some(b)) if b.len() > a.len() => b,
            (Some(a), _) => a,
            (None, Some(b)) => b,
            (None, None) => return None,
        };
        if target.is_empty() {
            return None;
        }
        shorten(target, excess);
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn content(text: &str) -> CallContent {
        CallContent {
            request: json!({"messages": [{"role": "user", "content": text}, {"role": "system", "content": "be brief"}]}),
            response: Some(json!({"content": "ok", "finish_reason": "stop"})),
            error: None,
            redacted: true,
            truncated: false,
            original_bytes: 0,
        }
    }

    #[test]
    fn small_content_is_kept_whole() {
        let capped = cap(content("hello"), 4096).unwrap();
        assert!(!capped.truncated);
        assert_eq!(capped.original_bytes, size(&capped));
    }

    #[test]
    fn the_longest_string_is_cut_to_fit_at_a_char_boundary() {
        let text = "日本語の文章".repeat(200);
        for max in [300, 512, 1000, 2048] {
            let capped = cap(content(&text), max).unwrap();
            let json = serde_json::to_string(&capped).unwrap();
            assert!(json.len() as u64 <= max, "{} > {max}", json.len());
            assert!(capped.truncated);
            assert!(capped.original_bytes > 3600);
            assert_eq!(capped.request["messages"][1]["content"], "be brief");
            serde_json::from_str::<Value>(&json).unwrap();
        }
    }

    #[test]
    fn too_small_a_cap_keeps_nothing() {
        assert_eq!(cap(content("hello"), 40), None);
    }
}
