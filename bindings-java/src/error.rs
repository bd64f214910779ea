//! Failures at the boundary: an engine error is thrown into Java as a
//! `dev.switchyard.internal.NativeException` whose message is the error's data
//! (`docs/bindings.md`) as JSON, which the Java side maps to its class; a JNI failure leaves
//! the Java exception it raised pending; a panic never unwinds into the JVM.

use jni::JNIEnv;
use switchyard::binding::catch_panic;

/// The Java class every engine error is thrown as.
const NATIVE_EXCEPTION: &str = "dev/switchyard/internal/NativeException";

#[derive(Debug, thiserror::Error)]
pub enum Failure {
    #[error(transparent)]
    Engine(#[from] switchyard::Error),
    /// A JNI call failed; when it raised a Java exception, that one is what Java sees.
    #[error("JNI: {0}")]
    Jni(#[from] jni::errors::Error),
}

pub type Result<T> = std::result::Result<T, Failure>;

/// Runs an export's body: its value, or (after throwing into Java) `fallback`, which Java
/// never reads since an exception is pending. A panic becomes an `internal` error.
pub fn guard<'l, T>(
    env: &mut JNIEnv<'l>,
    fallback: T,
    body: impl FnOnce(&mut JNIEnv<'l>) -> Result<T>,
) -> T {
    let out = catch_panic(|| body(env)).map_err(Failure::Engine);
    match out.and_then(|inner| inner) {
        Ok(value) => value,
        Err(Failure::Engine(error)) => {
            throw(env, &error);
            fallback
        }
        Err(Failure::Jni(error)) => {
            if !env.exception_check().unwrap_or(true) {
                throw(env, &switchyard::Error::internal(format!("JNI: {error}")));
            }
            fallback
        }
    }
}

/// The error's data as JSON text, the one shape every binding receives.
pub fn error_json(error: &switchyard::Error) -> String {
    serde_json::to_string(error).unwrap_or_else(|e| {
        serde_json::json!({"kind": "internal", "message": e.to_string(),
            "display": e.to_string(), "retryable": false})
        .to_string()
    })
}

fn throw(env: &mut JNIEnv<'_>, error: &switchyard::Error) {
    if let Err(e) = env.throw_new(NATIVE_EXCEPTION, error_json(error)) {
        tracing::error!(error = %e, "cannot throw into Java");
    }
}
