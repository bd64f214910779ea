//! Process-wide OTLP export, for hosts that have no Rust subscriber of their own (the
//! Python binding; later Node, Java, Go): one call installs span and metric export, one
//! call flushes it at client close or process exit.
//!
//! The endpoint comes from the argument, else the standard environment
//! (`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` / `..._METRICS_ENDPOINT` as full URLs, else
//! `OTEL_EXPORTER_OTLP_ENDPOINT` as a base URL with `/v1/traces` and `/v1/metrics`
//! appended); the service name from `OTEL_SERVICE_NAME`, else the argument. Without the
//! `otlp` cargo feature, or without an endpoint, nothing is installed.

use crate::error::Result;

/// Where and as whom this process exports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportTarget {
    /// Full OTLP/HTTP traces URL, or none to export no spans.
    pub traces: Option<String>,
    /// Full OTLP/HTTP metrics URL, or none to export no metrics.
    pub metrics: Option<String>,
    pub service_name: String,
}

impl ExportTarget {
    /// Resolves the target from `endpoint` (a base URL, as `OTEL_EXPORTER_OTLP_ENDPOINT`)
    /// and the environment read through `env`. An explicit endpoint wins over the
    /// environment; a signal's own variable wins over the base one, as the OTel spec says.
    pub fn resolve(
        endpoint: Option<&str>,
        service_name: &str,
        env: impl Fn(&str) -> Option<String>,
    ) -> ExportTarget {
        let var = |name: &str| env(name).filter(|v| !v.trim().is_empty());
        let base = endpoint
            .map(str::to_owned)
            .or_else(|| var("OTEL_EXPORTER_OTLP_ENDPOINT"));
        let signal = |own: &str, path: &str| {
            let from_base = || {
                base.as_deref()
                    .map(|b| format!("{}/{path}", b.trim_end_matches('/')))
            };
            match endpoint {
                Some(_) => from_base(),
                None => var(own).or_else(from_base),
            }
        };
        ExportTarget {
            traces: signal("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "v1/traces"),
            metrics: signal("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "v1/metrics"),
            service_name: var("OTEL_SERVICE_NAME").unwrap_or_else(|| service_name.to_owned()),
        }
    }

    fn is_empty(&self) -> bool {
        self.traces.is_none() && self.metrics.is_none()
    }
}

/// Installs span and metric export for the whole process, once. Returns whether export is
/// on after the call: `false` without the `otlp` feature or an endpoint, `true` once
/// installed (a second call changes nothing). If the application already set a global
/// `tracing` subscriber, spans stay with it (add [`super::otlp_layer`] there) and only the
/// metrics are exported.
pub fn install(endpoint: Option<&str>, service_name: &str) -> Result<bool> {
    let target = ExportTarget::resolve(endpoint, service_name, |name| std::env::var(name).ok());
    if target.is_empty() {
        return Ok(false);
    }
    installed::install(target)
}

/// Exports what is buffered now (spans and metrics); export stays on. For a binding's
/// client close.
pub fn flush() {
    installed::flush();
}

/// Flushes and stops export for the rest of the process. For a binding's process exit.
pub fn shutdown() {
    installed::shutdown();
}

#[cfg(feature = "otlp")]
mod installed {
    use std::sync::{Mutex, PoisonError};
    use std::time::Duration;

    use opentelemetry::metrics::MeterProvider as _;
    use opentelemetry_otlp::{MetricExporter, WithExportConfig};
    use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider};
    use tracing_subscriber::Layer as _;
    use tracing_subscriber::filter::{LevelFilter, Targets};
    use tracing_subscriber::layer::SubscriberExt as _;

    use super::ExportTarget;
    use crate::error::Result;
    use crate::telemetry::instruments;
    use crate::telemetry::otlp::{OtlpGuard, endpoint_error, otlp_layer, resource};

    /// Metrics are pushed this often unless `OTEL_METRIC_EXPORT_INTERVAL` says otherwise
    /// (the SDK's 60 s default is long for a short-lived script); flushes push at once.
    const METRIC_INTERVAL: Duration = Duration::from_secs(15);

    enum State {
        Off,
        On {
            spans: Option<OtlpGuard>,
            metrics: Option<SdkMeterProvider>,
        },
        /// Shut down: a global subscriber cannot be replaced, so export stays off.
        Done,
    }

    static STATE: Mutex<State> = Mutex::new(State::Off);

    pub(super) fn install(target: ExportTarget) -> Result<bool> {
        let mut state = STATE.lock().unwrap_or_else(PoisonError::into_inner);
        match *state {
            State::On { .. } => return Ok(true),
            State::Done => {
                tracing::debug!("OTLP export was shut down in this process; not reinstalled");
                return Ok(false);
            }
            State::Off => {}
        }
        let metrics = target
            .metrics
            .as_deref()
            .map(|url| meter_provider(url, &target.service_name))
            .transpose()?;
        let spans = match target.traces.as_deref() {
            Some(url) => {
                let (layer, guard) = otlp_layer(url, &target.service_name)?;
                // Only the engine's own spans: the host's HTTP stack would drown them.
                let layer = layer.with_filter(
                    Targets::new().with_target(env!("CARGO_CRATE_NAME"), LevelFilter::INFO),
                );
                let subscriber = tracing_subscriber::registry().with(layer);
                if tracing::subscriber::set_global_default(subscriber).is_err() {
                    tracing::warn!(
                        "a global tracing subscriber is already set: switchyard's spans go to it, \
                         not to the OTLP endpoint (add switchyard::telemetry::otlp_layer to it)"
                    );
                }
                Some(guard)
            }
            None => None,
        };
        if let Some(provider) = &metrics {
            instruments::install(&provider.meter("switchyard"));
        }
        tracing::info!(
            traces = target.traces.as_deref().unwrap_or("-"),
            metrics = target.metrics.as_deref().unwrap_or("-"),
            service = %target.service_name,
            "OTLP export installed"
        );
        *state = State::On { spans, metrics };
        Ok(true)
    }

    fn meter_provider(url: &str, service_name: &str) -> Result<SdkMeterProvider> {
        let exporter = MetricExporter::builder()
            .with_http()
            .with_endpoint(url)
            .build()
            .map_err(endpoint_error)?;
        let mut reader = PeriodicReader::builder(exporter);
        if std::env::var_os("OTEL_METRIC_EXPORT_INTERVAL").is_none() {
            reader = reader.with_interval(METRIC_INTERVAL);
        }
        Ok(SdkMeterProvider::builder()
            .with_reader(reader.build())
            .with_resource(resource(service_name))
            .build())
    }

    pub(super) fn flush() {
        let state = STATE.lock().unwrap_or_else(PoisonError::into_inner);
        if let State::On { spans, metrics } = &*state {
            if let Some(spans) = spans {
                spans.flush();
            }
            if let Some(Err(error)) = metrics.as_ref().map(SdkMeterProvider::force_flush) {
                tracing::debug!(%error, "OTLP metric flush");
            }
        }
    }

    pub(super) fn shutdown() {
        let mut state = STATE.lock().unwrap_or_else(PoisonError::into_inner);
        if let State::On { spans, metrics } = std::mem::replace(&mut *state, State::Done) {
            // Dropping the guard flushes and stops the span exporter.
            drop(spans);
            if let Some(Err(error)) = metrics.as_ref().map(SdkMeterProvider::shutdown) {
                tracing::debug!(%error, "OTLP metric shutdown");
            }
        }
    }
}

#[cfg(not(feature = "otlp"))]
mod installed {
    use super::ExportTarget;
    use crate::error::Result;

    pub(super) fn install(_target: ExportTarget) -> Result<bool> {
        tracing::debug!("an OTLP endpoint is set but switchyard was built without `otlp`");
        Ok(false)
    }

    pub(super) fn flush() {}

    pub(super) fn shutdown() {}
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn resolve(endpoint: Option<&str>, env: &[(&str, &str)]) -> ExportTarget {
        let env: HashMap<String, String> = env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        ExportTarget::resolve(endpoint, "svc", |name| env.get(name).cloned())
    }

    #[test]
    fn nothing_set_exports_nothing() {
        let target = resolve(None, &[]);
        assert!(target.is_empty());
        assert_eq!(target.service_name, "svc");
    }

    #[test]
    fn a_base_url_gets_the_signal_paths() {
        let target = resolve(Some("http://c:4318/"), &[]);
        assert_eq!(target.traces.as_deref(), Some("http://c:4318/v1/traces"));
        assert_eq!(target.metrics.as_deref(), Some("http://c:4318/v1/metrics"));
        let target = resolve(None, &[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://e:4318")]);
        assert_eq!(target.traces.as_deref(), Some("http://e:4318/v1/traces"));
    }

    #[test]
    fn signal_variables_win_over_the_base_and_the_argument_over_both() {
        let env = [
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://e:4318"),
            ("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "http://m:9/metrics"),
            ("OTEL_SERVICE_NAME", "from-env"),
        ];
        let target = resolve(None, &env);
        assert_eq!(target.traces.as_deref(), Some("http://e:4318/v1/traces"));
        assert_eq!(target.metrics.as_deref(), Some("http://m:9/metrics"));
        assert_eq!(target.service_name, "from-env");
        let target = resolve(Some("http://arg:1"), &env);
        assert_eq!(target.metrics.as_deref(), Some("http://arg:1/v1/metrics"));
        // Only the traces URL set: metrics stay off.
        let target = resolve(
            None,
            &[("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://t/x")],
        );
        assert_eq!(target.traces.as_deref(), Some("http://t/x"));
        assert_eq!(target.metrics, None);
    }
}
