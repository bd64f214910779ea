//! The department tree for reports: subtrees (what a department-scoped binding or a
//! `department` filter reaches) and roll-ups (a department's total is its own usage plus
//! its children's totals).

use std::collections::{HashMap, HashSet};

use crate::store::{DepartmentNode, UsageSums};

/// `roots` and every department below them.
pub fn subtree(nodes: &[DepartmentNode], roots: &[String]) -> Vec<String> {
    let mut children: HashMap<&str, Vec<&str>> = HashMap::new();
    for n in nodes {
        if let Some(p) = &n.parent_id {
            children.entry(p.as_str()).or_default().push(&n.id);
        }
    }
    let known: HashSet<&str> = nodes.iter().map(|n| n.id.as_str()).collect();
    let mut seen: HashSet<&str> = HashSet::new();
    let mut stack: Vec<&str> = roots
        .iter()
        .map(String::as_str)
        .filter(|r| known.contains(r))
        .collect();
    let mut out = Vec::new();
    while let Some(id) = stack.pop() {
        if !seen.insert(id) {
            continue;
        }
        out.push(id.to_owned());
        stack.extend(children.get(id).into_iter().flatten());
    }
    out.sort();
    out
}

/// Each department's total: its own sums plus its children's totals.
pub fn roll_up(
    nodes: &[DepartmentNode],
    own: &HashMap<String, UsageSums>,
) -> HashMap<String, UsageSums> {
    let mut totals: HashMap<String, UsageSums> = HashMap::new();
    for n in nodes {
        let Some(sums) = own.get(&n.id) else {
            continue;
        };
        // Add the department's own usage to it and every ancestor (cycle-safe).
        let mut at = Some(n.id.as_str());
        let mut seen: HashSet<&str> = HashSet::new();
        while let Some(id) = at {
            if !seen.insert(id) {
                break;
            }
            totals.entry(id.to_owned()).or_default().add(sums);
            at = nodes
                .iter()
                .find(|m| m.id == id)
                .and_then(|m| m.parent_id.as_deref());
        }
    }
    totals
}

/// `Root / Child / Grandchild`: a department's path of names.
pub fn path(nodes: &[DepartmentNode], id: &str) -> String {
    let mut names = Vec::new();
    let mut at = Some(id);
    while let Some(cur) = at {
        let Some(n) = nodes.iter().find(|m| m.id == cur) else {
            break;
        };
        if names.len() > nodes.len() {
            break;
        }
        names.push(n.name.as_str());
        at = n.parent_id.as_deref();
    }
    names.reverse();
    names.join(" / ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(id: &str, parent: Option<&str>) -> DepartmentNode {
        DepartmentNode {
            id: id.into(),
            parent_id: parent.map(Into::into),
            name: id.to_uppercase(),
        }
    }

    #[test]
    fn subtrees_and_roll_ups() {
        let nodes = vec![
            node("r", None),
            node("a", Some("r")),
            node("b", Some("a")),
            node("c", Some("r")),
        ];
        assert_eq!(subtree(&nodes, &["a".into()]), vec!["a", "b"]);
        assert_eq!(subtree(&nodes, &["r".into()]).len(), 4);
        let cost = |c| UsageSums {
            cost_micros: c,
            ..UsageSums::default()
        };
        let own = HashMap::from([
            ("r".into(), cost(1)),
            ("b".into(), cost(10)),
            ("c".into(), cost(100)),
        ]);
        let t = roll_up(&nodes, &own);
        assert_eq!(t["r"].cost_micros, 111);
        assert_eq!(t["a"].cost_micros, 10);
        assert_eq!(t["b"].cost_micros, 10);
        assert_eq!(t["c"].cost_micros, 100);
        assert_eq!(path(&nodes, "b"), "R / A / B");
    }
}
