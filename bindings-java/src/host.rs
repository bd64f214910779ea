//! Calling Java from engine threads. An engine thread attaches to the JVM as a daemon the
//! first time it calls back and stays attached until it exits (jni's thread-local guard
//! then detaches it): attaching per callback would make a `java.lang.Thread` each time,
//! and a daemon never keeps the JVM from exiting. Each callback runs in its own local
//! frame, since a native thread has no Java frame that would free its local references.
//! Once the process is exiting (`binding::at_exit`) the engine calls back no more.

use jni::objects::{GlobalRef, JObject};
use jni::{JNIEnv, JavaVM};

/// A Java object that an engine thread will call: a global reference, deleted from an
/// attached thread (never from one the JVM does not know).
pub struct Callback {
    vm: JavaVM,
    target: Option<GlobalRef>,
}

/// Local references one callback may make before its frame is popped.
const FRAME: i32 = 8;

impl Callback {
    pub fn new(env: &JNIEnv<'_>, target: &JObject<'_>) -> jni::errors::Result<Self> {
        Ok(Callback {
            vm: env.get_java_vm()?,
            target: Some(env.new_global_ref(target)?),
        })
    }

    /// Runs `f` on this (engine) thread with the target, in a fresh local frame. A Java
    /// exception it leaves is reported and cleared: an engine thread has no caller.
    pub fn call(
        mut self,
        f: impl FnOnce(&mut JNIEnv<'_>, &JObject<'_>) -> jni::errors::Result<()>,
    ) {
        let Some(target) = self.target.take() else {
            return;
        };
        let mut env = match self.vm.attach_current_thread_as_daemon() {
            Ok(env) => env,
            Err(error) => {
                tracing::error!(%error, "cannot attach an engine thread to the JVM");
                std::mem::forget(target);
                return;
            }
        };
        let out = env.with_local_frame(FRAME, |env| f(env, target.as_obj()));
        if env.exception_check().unwrap_or(false) {
            let _ = env.exception_describe();
            let _ = env.exception_clear();
        }
        if let Err(error) = out {
            tracing::error!(%error, "a callback into Java failed");
        }
        drop(target);
    }
}

impl Drop for Callback {
    fn drop(&mut self) {
        let Some(target) = self.target.take() else {
            return;
        };
        // A canceled call is dropped on an engine thread: delete the reference from an
        // attached one, or (no JVM to attach to) leave it.
        if self.vm.attach_current_thread_as_daemon().is_err() {
            std::mem::forget(target);
        }
    }
}
