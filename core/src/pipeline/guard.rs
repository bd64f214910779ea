//! Step 0, before anything else: the config's guardrails (`crate::guardrails`). A model off
//! the allow-list or text a deny pattern or topic rule matches refuses the call with
//! `policy_violation`; PII is masked into a copy of the request that the rest of the
//! pipeline (cache key, provider, call log) sees instead, and the answer may get the
//! originals back.

use super::context::CallContext;
use super::request::Request;
use super::runtime::Runtime;
use crate::error::Result;
use crate::guardrails::Restorer;

/// A request past the guardrails: its masked copy when masking changed it, and what puts
/// the originals back in the answer when the config asks for that.
pub(crate) struct Screened<R> {
    masked: Option<R>,
    pub restorer: Option<Restorer>,
}

impl<R> Screened<R> {
    /// The request the pipeline runs: the masked copy, else the caller's own.
    pub fn request<'a>(&'a self, original: &'a R) -> &'a R {
        self.masked.as_ref().unwrap_or(original)
    }

    /// The masked copy, else the caller's own, owned.
    pub fn into_request(self, original: R) -> (R, Option<Restorer>) {
        (self.masked.unwrap_or(original), self.restorer)
    }
}

/// Checks `request` against the guardrails in force and masks it; records what masking
/// did on the call (for its usage event: counts per kind, never the values).
pub(crate) fn screen<R: Request>(
    runtime: &Runtime,
    request: &R,
    call: &mut CallContext,
) -> Result<Screened<R>> {
    let unchanged = Screened {
        masked: None,
        restorer: None,
    };
    let Some(guard) = runtime.guardrails.as_deref() else {
        return Ok(unchanged);
    };
    guard.check_model(request.model())?;
    for text in request.texts() {
        guard.check_text(text)?;
    }
    let Some(masker) = guard.masker() else {
        return Ok(unchanged);
    };
    let Some((masked, done)) = masker.mask(request)? else {
        return Ok(unchanged);
    };
    call.masked = done.counts;
    Ok(Screened {
        masked: Some(masked),
        restorer: masker.restores().then(|| Restorer::new(done.originals)),
    })
}
