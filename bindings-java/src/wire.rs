//! What crosses the boundary: JSON text in Java strings, both ways. Java's side writes and
//! reads it with Jackson; here it is a `serde_json::Value`.

use jni::JNIEnv;
use jni::objects::JString;
use jni::sys::jstring;
use serde_json::Value;
use switchyard::Error;

use crate::error::Result;

/// A Java string as a Rust one; a null one is a `bad_request` naming `field`.
pub fn rust_string(env: &mut JNIEnv<'_>, text: &JString<'_>, field: &str) -> Result<String> {
    if text.is_null() {
        return Err(Error::bad_request(field, "expected a value, got null").into());
    }
    Ok(env.get_string(text)?.into())
}

/// JSON text from Java as a value; a null string is JSON `null` (no options).
pub fn json(env: &mut JNIEnv<'_>, text: &JString<'_>, field: &str) -> Result<Value> {
    if text.is_null() {
        return Ok(Value::Null);
    }
    let text = rust_string(env, text, field)?;
    serde_json::from_str(&text)
        .map_err(|e| Error::bad_request(field, format!("not JSON: {e}")).into())
}

pub fn into_java_string(env: &mut JNIEnv<'_>, text: &str) -> Result<jstring> {
    Ok(env.new_string(text)?.into_raw())
}

/// A value as JSON text for Java.
pub fn into_java_json(env: &mut JNIEnv<'_>, value: &Value) -> Result<jstring> {
    into_java_string(env, &value.to_string())
}
