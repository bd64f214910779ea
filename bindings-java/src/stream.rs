//! `Native`'s stream methods: the engine's `StreamHandle` behind a handle owned by the Java
//! `StreamResponse`. `streamNext` waits on the reading thread (an interrupt cancels the
//! stream); `streamClose` may come from any thread and closes the upstream connection.

use jni::JNIEnv;
use jni::objects::JClass;
use jni::sys::{jboolean, jlong, jstring};
use switchyard::binding::StreamHandle;

use crate::call::block;
use crate::error::guard;
use crate::handles::{borrow, free};
use crate::wire::into_java_json;

/// The next chunk as JSON text, or null at the end. An error (or an interrupt) closes the
/// stream.
#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_switchyard_internal_Native_streamNext<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    stream: jlong,
) -> jstring {
    guard(&mut env, std::ptr::null_mut(), |env| {
        let handle = borrow::<StreamHandle>(stream)?;
        match block(env, handle.next()) {
            Ok(Some(chunk)) => into_java_json(env, &chunk),
            Ok(None) => Ok(std::ptr::null_mut()),
            Err(failure) => {
                handle.close()?;
                Err(failure)
            }
        }
    })
}

/// What the pipeline did, as JSON text; complete once the stream has ended.
#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_switchyard_internal_Native_streamMeta<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    stream: jlong,
) -> jstring {
    guard(&mut env, std::ptr::null_mut(), |env| {
        let meta = borrow::<StreamHandle>(stream)?.meta();
        let value = serde_json::to_value(meta)
            .map_err(|e| switchyard::Error::internal(format!("cannot serialize: {e}")))?;
        into_java_json(env, &value)
    })
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_switchyard_internal_Native_streamClose<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    stream: jlong,
) {
    guard(&mut env, (), |_| {
        Ok(borrow::<StreamHandle>(stream)?.close()?)
    });
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_switchyard_internal_Native_freeStream<'l>(
    _env: JNIEnv<'l>,
    _class: JClass<'l>,
    stream: jlong,
) {
    free::<StreamHandle>(stream);
}

/// Whether the engine's stream is closed (its end read, an error, `close`): the upstream
/// connection is gone.
#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_switchyard_internal_Native_streamIsClosed<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    stream: jlong,
) -> jboolean {
    guard(&mut env, 0, |_| {
        Ok(borrow::<StreamHandle>(stream)?.is_closed().into())
    })
}
