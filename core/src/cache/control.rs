//! Which calls the cache may answer or store: the model's mode, the request, and the caller's
//! per-call override.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, Visitor};

use crate::config::CacheMode;
use crate::types::ChatRequest;

/// A caller's per-call say over the cache.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum CacheControl {
    /// Whatever the model's cache mode decides.
    #[default]
    Default,
    /// Neither read nor write: the call goes upstream and leaves no trace in the cache.
    Bypass,
    /// Don't read, do write: replace a stale or unwanted answer with a fresh one.
    Refresh,
    /// Opt in even when the mode would not (a non-deterministic request under
    /// `Deterministic`). Does not override `Off`: that is the operator's kill switch.
    Enable,
}

impl CacheControl {
    /// Whether a cacheable call may be answered from the cache.
    pub fn reads(self) -> bool {
        !matches!(self, CacheControl::Bypass | CacheControl::Refresh)
    }

    /// Whether a cacheable call's answer may be stored.
    pub fn writes(self) -> bool {
        !matches!(self, CacheControl::Bypass)
    }
}

/// The wire form every binding sends: `"default"`, `"bypass"`, `"refresh"`, `"enable"`, or
/// a boolean (`true` is `enable`, `false` is `bypass`); `null` is `default`.
impl<'de> Deserialize<'de> for CacheControl {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ControlVisitor)
    }
}

struct ControlVisitor;

impl Visitor<'_> for ControlVisitor {
    type Value = CacheControl;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("'default', 'bypass', 'refresh', 'enable', true or false")
    }

    fn visit_bool<E: de::Error>(self, flag: bool) -> Result<CacheControl, E> {
        Ok(if flag {
            CacheControl::Enable
        } else {
            CacheControl::Bypass
        })
    }

    fn visit_str<E: de::Error>(self, name: &str) -> Result<CacheControl, E> {
        match name {
            "default" => Ok(CacheControl::Default),
            "bypass" => Ok(CacheControl::Bypass),
            "refresh" => Ok(CacheControl::Refresh),
            "enable" => Ok(CacheControl::Enable),
            _ => Err(E::invalid_value(de::Unexpected::Str(name), &self)),
        }
    }

    fn visit_unit<E: de::Error>(self) -> Result<CacheControl, E> {
        Ok(CacheControl::Default)
    }

    fn visit_none<E: de::Error>(self) -> Result<CacheControl, E> {
        Ok(CacheControl::Default)
    }
}

/// Whether a call may be answered from or stored in the cache at all; [`CacheControl::reads`]
/// and [`CacheControl::writes`] then say which of the two.
///
/// - `Off`: never, whatever the control (an operator turning the cache off must win).
/// - `Bypass`: never.
/// - `Always`: yes.
/// - `Deterministic`: when the request asks for a repeatable answer ([`is_deterministic`]),
///   or the caller opts in with `Enable`.
pub fn is_cacheable(mode: CacheMode, request: &ChatRequest, control: CacheControl) -> bool {
    match (mode, control) {
        (CacheMode::Off, _) | (_, CacheControl::Bypass) => false,
        (CacheMode::Always, _) | (CacheMode::Deterministic, CacheControl::Enable) => true,
        (CacheMode::Deterministic, CacheControl::Default | CacheControl::Refresh) => {
            is_deterministic(request)
        }
    }
}

/// A request asks for a repeatable answer with a seed, or with temperature 0 and a single
/// choice: several choices at temperature 0 without a seed may still differ from each other
/// and from run to run, so caching them would freeze one sample.
pub fn is_deterministic(request: &ChatRequest) -> bool {
    if request.seed.is_some() {
        return true;
    }
    request.temperature == Some(0.0) && request.n.unwrap_or(1) <= 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::Message;

    fn request(temperature: Option<f64>, seed: Option<i64>, n: Option<u32>) -> ChatRequest {
        let mut r = ChatRequest::new("m", vec![Message::user("hi")]);
        r.temperature = temperature;
        r.seed = seed;
        r.n = n;
        r
    }

    const ALL_CONTROLS: [CacheControl; 4] = [
        CacheControl::Default,
        CacheControl::Bypass,
        CacheControl::Refresh,
        CacheControl::Enable,
    ];

    #[test]
    fn off_never_caches_even_when_enabled() {
        let det = request(Some(0.0), Some(1), None);
        for control in ALL_CONTROLS {
            assert!(!is_cacheable(CacheMode::Off, &det, control), "{control:?}");
        }
    }

    #[test]
    fn always_caches_unless_bypassed() {
        let random = request(Some(1.0), None, Some(3));
        for control in ALL_CONTROLS {
            let expected = control != CacheControl::Bypass;
            assert_eq!(
                is_cacheable(CacheMode::Always, &random, control),
                expected,
                "{control:?}"
            );
        }
    }

    #[test]
    fn deterministic_mode_follows_the_request() {
        let mode = CacheMode::Deterministic;
        let d = CacheControl::Default;
        assert!(is_cacheable(mode, &request(Some(0.0), None, None), d));
        assert!(is_cacheable(mode, &request(Some(0.0), None, Some(1)), d));
        assert!(is_cacheable(mode, &request(Some(0.9), Some(7), None), d));
        assert!(is_cacheable(mode, &request(None, Some(7), Some(4)), d));
        assert!(!is_cacheable(mode, &request(None, None, None), d));
        assert!(!is_cacheable(mode, &request(Some(0.2), None, None), d));
        // n > 1 without a seed is a sample, not an answer.
        assert!(!is_cacheable(mode, &request(Some(0.0), None, Some(2)), d));
    }

    #[test]
    fn deterministic_mode_controls() {
        let mode = CacheMode::Deterministic;
        let random = request(Some(1.0), None, None);
        let det = request(Some(0.0), None, None);
        assert!(is_cacheable(mode, &random, CacheControl::Enable));
        assert!(!is_cacheable(mode, &random, CacheControl::Refresh));
        assert!(is_cacheable(mode, &det, CacheControl::Refresh));
        assert!(!is_cacheable(mode, &det, CacheControl::Bypass));
    }

    #[test]
    fn read_and_write_per_control() {
        assert!(CacheControl::Default.reads() && CacheControl::Default.writes());
        assert!(CacheControl::Enable.reads() && CacheControl::Enable.writes());
        assert!(!CacheControl::Refresh.reads() && CacheControl::Refresh.writes());
        assert!(!CacheControl::Bypass.reads() && !CacheControl::Bypass.writes());
    }
}
