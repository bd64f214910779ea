//! Whether a call's content is logged: the per-model mode for its logical model, else the
//! section's `content`; `errors` for failed calls only, `{sample: r}` with probability r,
//! drawn per call.

use crate::config::{CallLogConfig, CallLogMode};

/// Whether the call of `alias` that ended `failed` logs its content under `config`.
/// Cheap: no copy is made before this says yes.
pub(crate) fn logs(config: &CallLogConfig, alias: &str, failed: bool) -> bool {
    match config.models.get(alias).copied().unwrap_or(config.content) {
        CallLogMode::Off => false,
        CallLogMode::Errors => failed,
        CallLogMode::All => true,
        CallLogMode::Sample(rate) => rand::random::<f64>() < rate,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn config(content: CallLogMode, models: &[(&str, CallLogMode)]) -> CallLogConfig {
        CallLogConfig {
            content,
            models: models
                .iter()
                .map(|(m, mode)| ((*m).to_owned(), *mode))
                .collect::<BTreeMap<_, _>>(),
            ..CallLogConfig::default()
        }
    }

    #[test]
    fn modes() {
        let off = config(CallLogMode::Off, &[]);
        assert!(!logs(&off, "chat", true));
        let errors = config(CallLogMode::Errors, &[]);
        assert!(logs(&errors, "chat", true));
        assert!(!logs(&errors, "chat", false));
        let all = config(CallLogMode::All, &[]);
        assert!(logs(&all, "chat", false));
        assert!(!logs(&config(CallLogMode::Sample(0.0), &[]), "c", false));
        assert!(logs(&config(CallLogMode::Sample(1.0), &[]), "c", false));
    }

    #[test]
    fn a_model_override_replaces_the_default() {
        let config = config(CallLogMode::Off, &[("gpt-4o", CallLogMode::All)]);
        assert!(logs(&config, "gpt-4o", false));
        assert!(!logs(&config, "chat", false));
    }
}
