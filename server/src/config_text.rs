//! A config version submitted as YAML text: parsing it (a syntax error keeps its place)
//! and validating it with every issue placed at its line, so an editor can mark the line.

use serde::Serialize;
use serde_json::Value;

use crate::store::document_issues;

/// One problem in the submitted text. `line` and `column` count from 1; they are absent
/// only when the text has no content at all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct TextIssue {
    /// The validator's path (`models.chat.deployments[0].provider`), empty for syntax.
    pub path: String,
    pub message: String,
    pub line: Option<usize>,
    pub column: Option<usize>,
}

/// Parses `text` into the JSON document the store keeps, or the syntax error at its place.
pub fn parse(text: &str) -> Result<Value, TextIssue> {
    serde_norway::from_str::<Value>(text).map_err(|e| {
        let at = e.location();
        TextIssue {
            path: String::new(),
            message: e.to_string(),
            line: at.as_ref().map(|l| l.line()),
            column: at.as_ref().map(|l| l.column()),
        }
    })
}

/// The parsed document, or every issue in it with its line in `text`.
pub fn check(text: &str) -> Result<Value, Vec<TextIssue>> {
    let document = parse(text).map_err(|i| vec![i])?;
    match document_issues(&document) {
        Ok(_) => Ok(document),
        Err(e) => Err(e
            .issues
            .into_iter()
            .map(|issue| {
                let at = locate(text, &issue.path);
                TextIssue {
                    line: at.map(|a| a.0),
                    column: at.map(|a| a.1),
                    path: issue.path,
                    message: issue.message,
                }
            })
            .collect()),
    }
}

/// One step of a validator path: a mapping key or a sequence index.
#[derive(Debug, PartialEq)]
enum Step {
    Key(String),
    Index(usize),
}

/// `a.b[2].c` → Key(a), Key(b), Index(2), Key(c). Keys may hold dots (`gpt-4.1`): the
/// walk below tries joined keys too.
fn steps(path: &str) -> Vec<Step> {
    let mut out = Vec::new();
    for part in path.split('.').filter(|p| !p.is_empty()) {
        let (key, rest) = part.split_once('[').unwrap_or((part, ""));
        if !key.is_empty() {
            out.push(Step::Key(key.to_owned()));
        }
        for index in rest.split('[') {
            if let Ok(i) = index.trim_end_matches(']').parse() {
                out.push(Step::Index(i));
            }
        }
    }
    out
}

/// A node of block YAML as written: `- ` items become a `-` entry plus their content
/// indented past the dash, so items and mappings walk alike.
struct Entry<'a> {
    indent: usize,
    text: &'a str,
    line: usize,
}

fn entries(text: &str) -> Vec<Entry<'_>> {
    let mut out = Vec::new();
    for (n, raw) in text.lines().enumerate() {
        let body = raw.trim_start();
        if body.is_empty() || body.starts_with('#') || body == "---" {
            continue;
        }
        let mut indent = raw.len() - body.len();
        let mut rest = body;
        while rest == "-" || rest.starts_with("- ") {
            out.push(Entry {
                indent,
                text: "-",
                line: n + 1,
            });
            let after = rest[1..].trim_start();
            indent += rest.len() - after.len();
            rest = after;
            if rest.is_empty() {
                break;
            }
        }
        if !rest.is_empty() {
            out.push(Entry {
                indent,
                text: rest,
                line: n + 1,
            });
        }
    }
    out
}

/// The key of a `key: value` entry, unquoted.
fn key_of(text: &str) -> Option<&str> {
    for quote in ['"', '\''] {
        if let Some(rest) = text.strip_prefix(quote) {
            let end = rest.find(quote)?;
            return rest[end + 1..].starts_with(':').then(|| &rest[..end]);
        }
    }
    let colon = text
        .find(": ")
        .or_else(|| text.ends_with(':').then(|| text.len() - 1))?;
    Some(text[..colon].trim_end())
}

/// The entries directly under the node whose children are `range`: those at the
/// indentation of the first one.
fn children(all: &[Entry<'_>], range: std::ops::Range<usize>) -> Vec<(usize, usize)> {
    let Some(first) = all.get(range.start).filter(|_| !range.is_empty()) else {
        return Vec::new();
    };
    let indent = first.indent;
    let mut out = Vec::new();
    for i in range.clone() {
        if all[i].indent == indent {
            // A child's own children run until the next entry at its level or above.
            let end = (i + 1..range.end)
                .find(|&j| all[j].indent <= indent)
                .unwrap_or(range.end);
            out.push((i, end));
        }
    }
    out
}

/// Where the node at `path` is written in `text`: its line and column (from 1), or its
/// nearest written ancestor's when the node itself is missing (a required field) or
/// written in flow style; the document's first line for the root or an unknown
/// top-level key; `None` only for a text without content.
pub fn locate(text: &str, path: &str) -> Option<(usize, usize)> {
    let all = entries(text);
    let steps = steps(path);
    let mut range = 0..all.len();
    let mut found = (!all.is_empty()).then_some(0);
    let mut i = 0;
    'walk: while i < steps.len() {
        let kids = children(&all, range.clone());
        match &steps[i] {
            Step::Index(n) => {
                let items: Vec<_> = kids.iter().filter(|(k, _)| all[*k].text == "-").collect();
                let Some(&&(k, end)) = items.get(*n) else {
                    break;
                };
                found = Some(k);
                range = k + 1..end;
                i += 1;
            }
            Step::Key(_) => {
                // The longest run of steps that, joined by dots, names a key here.
                for take in (1..=steps.len() - i).rev() {
                    let Some(joined) = joined_keys(&steps[i..i + take]) else {
                        continue;
                    };
                    if let Some(&(k, end)) = kids
                        .iter()
                        .find(|(k, _)| all[*k].text != "-" && key_of(all[*k].text) == Some(&joined))
                    {
                        found = Some(k);
                        range = k + 1..end;
                        i += take;
                        continue 'walk;
                    }
                }
                break;
            }
        }
    }
    found.map(|k| (all[k].line, all[k].indent + 1))
}

/// Keys joined by dots, or `None` if an index is among them.
fn joined_keys(steps: &[Step]) -> Option<String> {
    let mut keys = Vec::with_capacity(steps.len());
    for s in steps {
        match s {
            Step::Key(k) => keys.push(k.as_str()),
            Step::Index(_) => return None,
        }
    }
    Some(keys.join("."))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "\
# a comment
providers:
  openai:
    kind: openai
models:
  gpt-4.1:
    type: chat
    deployments:
      - provider: openai
        model: gpt-4.1
      -   provider: azure
          weight: 3
  tags: [a, b]
";

    #[test]
    fn splits_paths_into_keys_and_indexes() {
        assert_eq!(
            steps("a.b[2].c[0][1]"),
            vec![
                Step::Key("a".into()),
                Step::Key("b".into()),
                Step::Index(2),
                Step::Key("c".into()),
                Step::Index(0),
                Step::Index(1)
            ]
        );
    }

    #[test]
    fn finds_keys_items_and_dotted_keys() {
        assert_eq!(locate(DOC, "providers"), Some((2, 1)));
        assert_eq!(locate(DOC, "providers.openai.kind"), Some((4, 5)));
        assert_eq!(locate(DOC, "models.gpt-4.1.type"), Some((7, 5)));
        assert_eq!(locate(DOC, "models.gpt-4.1.deployments[0]"), Some((9, 7)));
        assert_eq!(
            locate(DOC, "models.gpt-4.1.deployments[0].model"),
            Some((10, 9))
        );
        assert_eq!(
            locate(DOC, "models.gpt-4.1.deployments[1].weight"),
            Some((12, 11))
        );
    }

    #[test]
    fn a_missing_node_is_placed_at_its_nearest_ancestor() {
        // A required field that is absent: the item that lacks it.
        assert_eq!(
            locate(DOC, "models.gpt-4.1.deployments[1].model"),
            Some((11, 7))
        );
        assert_eq!(locate(DOC, "models.gpt-4.1.deployments[5]"), Some((8, 5)));
        // Flow style is not walked into: the key that holds it.
        assert_eq!(locate(DOC, "models.tags[1]"), Some((13, 3)));
        // The root, or a key not there: the document's first line.
        assert_eq!(locate(DOC, "nowhere.at.all"), Some((2, 1)));
        assert_eq!(locate(DOC, ""), Some((2, 1)));
        assert_eq!(locate("# only a comment\n", "a"), None);
    }

    #[test]
    fn quoted_keys_and_nested_items() {
        let doc = "a:\n  \"x.y\":\n    - - 1\n      - 2\n";
        assert_eq!(locate(doc, "a.x.y"), Some((2, 3)));
        assert_eq!(locate(doc, "a.x.y[0][1]"), Some((4, 7)));
    }

    #[test]
    fn a_syntax_error_keeps_its_place() {
        let issue = parse("a: 1\nb: [1, 2\nc: 3\n").unwrap_err();
        assert_eq!(issue.path, "");
        assert!(issue.line.is_some_and(|l| l >= 2), "{issue:?}");
    }

    #[test]
    fn validator_issues_come_back_at_their_lines() {
        let text = "version: 1\nproviders:\n  openai:\n    kind: openai\nmodels:\n  chat:\n    deployments:\n      - provider: nowhere\n        model: m\n";
        let issues = check(text).unwrap_err();
        assert!(!issues.is_empty());
        for i in &issues {
            assert!(i.line.is_some(), "{i:?}");
        }
        assert!(
            issues.iter().any(|i| i.line == Some(8)),
            "an unknown provider is placed at its deployment: {issues:?}"
        );
    }
}
