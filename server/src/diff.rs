//! A structural diff of two JSON documents, kept with each config version so a reviewer
//! sees what changed without fetching both.

use serde_json::{Value, json};

/// Changes from `before` to `after` as `[{op, path, before?, after?}]`, paths in the
/// validator's notation (`models.chat.deployments[0].weight`).
pub fn json_diff(before: &Value, after: &Value) -> Value {
    let mut out = Vec::new();
    walk("", before, after, &mut out);
    Value::Array(out)
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

fn walk(path: &str, before: &Value, after: &Value, out: &mut Vec<Value>) {
    match (before, after) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, va) in a {
                match b.get(k) {
                    Some(vb) => walk(&join(path, k), va, vb, out),
                    None => out.push(json!({"op": "remove", "path": join(path, k), "before": va})),
                }
            }
            for (k, vb) in b {
                if !a.contains_key(k) {
                    out.push(json!({"op": "add", "path": join(path, k), "after": vb}));
                }
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (i, (va, vb)) in a.iter().zip(b).enumerate() {
                walk(&format!("{path}[{i}]"), va, vb, out);
            }
        }
        _ if before != after => {
            out.push(json!({"op": "replace", "path": path, "before": before, "after": after}));
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_each_change() {
        let d = json_diff(
            &json!({"a": 1, "b": {"c": [1, 2]}, "gone": true}),
            &json!({"a": 2, "b": {"c": [1, 3]}, "new": "x"}),
        );
        let paths: Vec<&str> = d
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["path"].as_str().unwrap())
            .collect();
        assert_eq!(paths, ["a", "b.c[1]", "gone", "new"]);
    }
}
