//! Who a call is for, and which scope values a budget or limit sees in it.

use crate::config::ScopeKind;

/// The identities of one call that budgets and rate limits key on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallScope {
    pub tenant: Option<String>,
    pub app: Option<String>,
    pub user: Option<String>,
    /// The logical model (the alias callers use), not the upstream name.
    pub model: String,
    pub tags: Vec<String>,
}

impl CallScope {
    pub fn new(model: impl Into<String>) -> Self {
        CallScope {
            model: model.into(),
            ..CallScope::default()
        }
    }

    /// Whether a rule of `kind` with `filter` applies to this call at all: [`Self::values`]
    /// non-empty, without collecting them (asked on every call's admission).
    pub(crate) fn matches(&self, kind: ScopeKind, filter: Option<&str>) -> bool {
        let one = |v: Option<&str>| v.is_some_and(|v| filter.is_none_or(|f| f == v));
        match kind {
            ScopeKind::Tenant => one(self.tenant.as_deref()),
            ScopeKind::App => one(self.app.as_deref()),
            ScopeKind::User => one(self.user.as_deref()),
            ScopeKind::Model => one(Some(self.model.as_str())),
            ScopeKind::Tag => self.tags.iter().any(|t| one(Some(t.as_str()))),
        }
    }

    /// The values of `kind` in this call that a rule with `filter` applies to: none when
    /// the call has no such value or `filter` names another; for tags, each matching tag
    /// (so an unfiltered tag budget gives every tag its own account).
    pub(crate) fn values<'a>(&'a self, kind: ScopeKind, filter: Option<&'a str>) -> Vec<&'a str> {
        let one = |v: Option<&'a str>| -> Vec<&'a str> {
            v.filter(|v| filter.is_none_or(|f| f == *v))
                .into_iter()
                .collect()
        };
        match kind {
            ScopeKind::Tenant => one(self.tenant.as_deref()),
            ScopeKind::App => one(self.app.as_deref()),
            ScopeKind::User => one(self.user.as_deref()),
            ScopeKind::Model => one(Some(self.model.as_str())),
            ScopeKind::Tag => {
                let mut tags: Vec<&str> = self
                    .tags
                    .iter()
                    .map(String::as_str)
                    .filter(|t| filter.is_none_or(|f| f == *t))
                    .collect();
                // A tag listed twice is still one account: never reserve in it twice.
                tags.sort_unstable();
                tags.dedup();
                tags
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_by_kind_and_filter() {
        let s = CallScope {
            tenant: Some("acme".into()),
            user: Some("u1".into()),
            tags: vec!["b".into(), "a".into(), "b".into()],
            ..CallScope::new("chat")
        };
        assert_eq!(s.values(ScopeKind::Tenant, None), vec!["acme"]);
        assert_eq!(
            s.values(ScopeKind::Tenant, Some("other")),
            Vec::<&str>::new()
        );
        assert_eq!(s.values(ScopeKind::App, None), Vec::<&str>::new());
        assert_eq!(s.values(ScopeKind::Model, Some("chat")), vec!["chat"]);
        assert_eq!(s.values(ScopeKind::Tag, None), vec!["a", "b"]);
        assert_eq!(s.values(ScopeKind::Tag, Some("b")), vec!["b"]);
        for (kind, filter) in [
            (ScopeKind::Tenant, None),
            (ScopeKind::Tenant, Some("other")),
            (ScopeKind::App, None),
            (ScopeKind::Model, Some("chat")),
            (ScopeKind::Tag, Some("b")),
            (ScopeKind::Tag, Some("c")),
        ] {
            assert_eq!(
                s.matches(kind, filter),
                !s.values(kind, filter).is_empty(),
                "{kind:?} {filter:?}"
            );
        }
    }
}
