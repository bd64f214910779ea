//! OTLP export of the call and attempt spans (cargo feature `otlp`): a `tracing` layer
//! that batches spans to a collector over OTLP/HTTP (protobuf), so the GenAI attributes
//! reach any OpenTelemetry backend without the application knowing about OpenTelemetry.
//!
//! The exporter speaks plain HTTP: point it at a collector or agent beside the service
//! (`http://127.0.0.1:4318/v1/traces`), which forwards over TLS.

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{SpanExporter, WithExportConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing::Subscriber;
use tracing_subscriber::Layer;
use tracing_subscriber::registry::LookupSpan;

use crate::error::{Error, ErrorKind, Result};

/// Keeps the exporter running; dropping it flushes the spans still buffered.
pub struct OtlpGuard {
    provider: SdkTracerProvider,
}

impl OtlpGuard {
    /// Exports the spans still buffered now, without stopping the exporter.
    pub fn flush(&self) {
        if let Err(error) = self.provider.force_flush() {
            tracing::debug!(%error, "OTLP span flush");
        }
    }
}

impl Drop for OtlpGuard {
    fn drop(&mut self) {
        if let Err(error) = self.provider.shutdown() {
            tracing::debug!(%error, "OTLP exporter shutdown");
        }
    }
}

impl std::fmt::Debug for OtlpGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OtlpGuard").finish_non_exhaustive()
    }
}

/// A layer exporting every span to `endpoint` (the full traces URL) as `service_name`.
/// Add it to the application's subscriber; keep the guard for the life of the process.
pub fn otlp_layer<S>(
    endpoint: &str,
    service_name: &str,
) -> Result<(impl Layer<S> + use<S>, OtlpGuard)>
where
    S: Subscriber + for<'span> LookupSpan<'span>,
{
    let exporter = SpanExporter::builder()
        .with_http()
        .with_endpoint(endpoint)
        .build()
        .map_err(endpoint_error)?;
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource(service_name))
        .build();
    let tracer = provider.tracer("switchyard");
    let layer = tracing_opentelemetry::layer().with_tracer(tracer);
    Ok((layer, OtlpGuard { provider }))
}

/// The resource every export from this process carries: its service name.
pub(crate) fn resource(service_name: &str) -> Resource {
    Resource::builder()
        .with_service_name(service_name.to_owned())
        .build()
}

/// An exporter that could not be built: the endpoint is what the caller can fix.
pub(crate) fn endpoint_error(error: impl std::fmt::Display) -> Error {
    Error::new(
        ErrorKind::Config {
            path: "otlp.endpoint".into(),
        },
        error.to_string(),
    )
}
