//! The native half of the Java SDK (`libswitchyard_java.so`, shipped inside the jar): JNI
//! exports of `dev.switchyard.internal.Native` over the engine's binding surface
//! (`docs/bindings.md`). Requests, answers, options and errors cross as JSON text; the
//! Java side (`java/`) holds the public API. Nothing here decides anything.

// JNI exports are `#[unsafe(no_mangle)]` symbols and handles are pointers owned by Java
// objects: the only unsafe code is in `handles.rs` and the export attributes.
#![allow(unsafe_code)]

mod call;
mod client;
mod error;
mod handles;
mod host;
mod stream;
mod wire;

use jni::JNIEnv;
use jni::objects::{JClass, JString};
use jni::sys::jstring;

use crate::error::guard;
use crate::wire::{into_java_string, rust_string};

/// The engine's version, as every binding reports it.
#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_switchyard_internal_Native_version<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
) -> jstring {
    guard(&mut env, std::ptr::null_mut(), |env| {
        into_java_string(env, switchyard::VERSION)
    })
}

/// Stops the engine as the JVM exits (a shutdown hook): usage and telemetry are flushed,
/// engine threads stop and never call into Java again.
#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_switchyard_internal_Native_atExit<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
) {
    guard(&mut env, (), |_| {
        switchyard::binding::at_exit();
        Ok(())
    });
}

/// YAML (or JSON) text as JSON text, read by the engine's own YAML reader, so that the
/// tests read scenario files exactly as the Rust runner does.
#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_switchyard_internal_Native_parseYaml<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    text: JString<'l>,
) -> jstring {
    guard(&mut env, std::ptr::null_mut(), |env| {
        let text = rust_string(env, &text, "yaml")?;
        let value: serde_json::Value = serde_norway::from_str(&text)
            .map_err(|e| switchyard::Error::bad_request("yaml", e.to_string()))?;
        into_java_string(env, &value.to_string())
    })
}
