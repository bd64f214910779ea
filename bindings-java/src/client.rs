//! `Native`'s client methods: the engine's `ClientHandle` behind a handle owned by the Java
//! `Switchyard` client. Specs, requests and options arrive as JSON text; answers leave as
//! JSON text. Sync methods wait on the calling thread; `*Async` ones complete a
//! `NativeCall` from an engine thread.

use jni::JNIEnv;
use jni::objects::{JClass, JObject, JString, JValue};
use jni::sys::{jboolean, jlong, jstring};
use switchyard::binding::{CallHandle, ClientHandle, ClientSpec, ConfigInput, StreamHandle};
use switchyard::validate::decode;

use std::future::Future;
use std::pin::Pin;

use serde_json::Value;

use crate::call::{block, block_fully, deliver_json, spawn};
use crate::error::{Result, guard};
use crate::handles::{borrow, free, into_handle};
use crate::wire::{into_java_json, json};

/// Builds the client from the constructor's arguments (one JSON object; the environment
/// fills in). A server source waits here for its first config.
#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_switchyard_internal_Native_open<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    spec: JString<'l>,
) -> jlong {
    guard(&mut env, 0, |env| {
        let spec = ClientSpec::from_json(json(env, &spec, "spec")?)?;
        Ok(into_handle(ClientHandle::open(spec)?))
    })
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_switchyard_internal_Native_freeClient<'l>(
    _env: JNIEnv<'l>,
    _class: JClass<'l>,
    client: jlong,
) {
    free::<ClientHandle>(client);
}

/// `kind` of [`Java_dev_switchyard_internal_Native_call`]: a chat completion.
const CHAT: i32 = 0;

/// A call answering JSON: a chat completion or embeddings.
type JsonCall = Pin<Box<dyn Future<Output = switchyard::Result<Value>> + Send + 'static>>;

/// The call of `kind` (`CHAT`, else embeddings); bad input fails here, before anything is sent.
fn json_call(
    env: &mut JNIEnv<'_>,
    client: jlong,
    kind: i32,
    request: &JString<'_>,
    options: &JString<'_>,
) -> Result<JsonCall> {
    let handle = borrow::<ClientHandle>(client)?;
    let (request, options) = (
        json(env, request, "request")?,
        json(env, options, "options")?,
    );
    Ok(if kind == CHAT {
        Box::pin(handle.chat(request, options)?)
    } else {
        Box::pin(handle.embed(request, options)?)
    })
}

/// A chat completion (`kind` 0) or embeddings (1), waited for on the calling thread: the
/// answer as JSON text.
#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_switchyard_internal_Native_call<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    client: jlong,
    kind: i32,
    request: JString<'l>,
    options: JString<'l>,
) -> jstring {
    guard(&mut env, std::ptr::null_mut(), |env| {
        let call = json_call(env, client, kind, &request, &options)?;
        let answer = block(env, call)?;
        into_java_json(env, &answer)
    })
}

/// The same, run on the engine: `target.onValue(json)` from an engine thread.
#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_switchyard_internal_Native_callAsync<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    client: jlong,
    kind: i32,
    request: JString<'l>,
    options: JString<'l>,
    target: JObject<'l>,
) -> jlong {
    guard(&mut env, 0, |env| {
        let call = json_call(env, client, kind, &request, &options)?;
        spawn(env, &target, call, deliver_json)
    })
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_switchyard_internal_Native_chatStream<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    client: jlong,
    request: JString<'l>,
    options: JString<'l>,
) -> jlong {
    guard(&mut env, 0, |env| {
        let handle = borrow::<ClientHandle>(client)?;
        let call = handle.chat_stream(
            json(env, &request, "request")?,
            json(env, &options, "options")?,
        )?;
        Ok(into_handle(block(env, call)?))
    })
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_switchyard_internal_Native_chatStreamAsync<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    client: jlong,
    request: JString<'l>,
    options: JString<'l>,
    target: JObject<'l>,
) -> jlong {
    guard(&mut env, 0, |env| {
        let handle = borrow::<ClientHandle>(client)?;
        let call = handle.chat_stream(
            json(env, &request, "request")?,
            json(env, &options, "options")?,
        )?;
        spawn(env, &target, call, |env, target, stream: StreamHandle| {
            let stream = into_handle(stream);
            env.call_method(target, "onStream", "(J)V", &[JValue::Long(stream)])?;
            Ok(())
        })
    })
}

/// Drops a call started by an `*Async` method (and its upstream request); it never calls
/// back after this.
#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_switchyard_internal_Native_cancelCall<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    call: jlong,
) {
    guard(&mut env, (), |_| {
        borrow::<CallHandle>(call)?.cancel();
        Ok(())
    });
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_switchyard_internal_Native_freeCall<'l>(
    _env: JNIEnv<'l>,
    _class: JClass<'l>,
    call: jlong,
) {
    free::<CallHandle>(call);
}

/// `models`, `metrics` or `config` (`what`: 0, 1, 2) as JSON text: answered at once.
#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_switchyard_internal_Native_read<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    client: jlong,
    what: i32,
) -> jstring {
    guard(&mut env, std::ptr::null_mut(), |env| {
        let handle = borrow::<ClientHandle>(client)?;
        let value = match what {
            0 => handle.models()?,
            1 => handle.metrics()?,
            _ => handle.config()?,
        };
        into_java_json(env, &value)
    })
}

/// Swaps in a new config (a path or the document, as JSON text); an invalid one is a
/// `config` error and the old one stays.
#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_switchyard_internal_Native_reload<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    client: jlong,
    config: JString<'l>,
) {
    guard(&mut env, (), |env| {
        let handle = borrow::<ClientHandle>(client)?;
        let config: ConfigInput = decode(json(env, &config, "config")?)?;
        Ok(handle.reload(config)?)
    });
}

/// Waits until the usage recorded so far reached the server (or its spool).
#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_switchyard_internal_Native_flush<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    client: jlong,
) {
    guard(&mut env, (), |_| {
        let flushing = borrow::<ClientHandle>(client)?.flush()?;
        block_fully(flushing)
    });
}

/// Lets the calls in flight finish (canceling them after 5 s), stops the watcher, flushes
/// usage. Later calls fail with `unavailable`.
#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_switchyard_internal_Native_close<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    client: jlong,
) {
    guard(&mut env, (), |_| {
        let closing = borrow::<ClientHandle>(client)?.close();
        block_fully(closing)
    });
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_switchyard_internal_Native_isClosed<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    client: jlong,
) -> jboolean {
    guard(&mut env, 0, |_| {
        Ok(borrow::<ClientHandle>(client)?.is_closed().into())
    })
}

/// Checks call options (JSON text) as a call would: `withOptions` fails at once on a bad one.
#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_switchyard_internal_Native_checkOptions<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    options: JString<'l>,
) {
    guard(&mut env, (), |env| {
        switchyard::client::CallOptions::from_json(json(env, &options, "options")?)?;
        Ok(())
    });
}
