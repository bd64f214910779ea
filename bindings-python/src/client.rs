//! `NativeClient`: one core `Client`, rebuilt in a forked child, called blocking (GIL
//! released) or from asyncio (a tokio task that reports back through a callback).

use std::collections::BTreeMap;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use futures_util::FutureExt;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};
use switchyard::cache::CacheControl;
use switchyard::config::Config;
use switchyard::types::{ChatRequest, EmbeddingRequest};
use switchyard::validate::decode;
use switchyard::{CallMeta, CallOptions, ChatOutcome, Client, ConfigServer, EmbedOutcome, Error};

use crate::convert::{self, to_py};
use crate::errors::{self, guard, to_pyerr};
use crate::runtime::{Live, runtime, wait};
use crate::stream::NativeStream;

/// Where the config came from, so a forked child can build the same client.
#[derive(Clone)]
enum Source {
    Value(Config),
    File(PathBuf, Option<Duration>),
    Server(ConfigServer),
}

/// A core client and the process it belongs to. In a forked child it is leaked, never
/// dropped: its connection pool and watcher belong to threads that did not survive the fork.
struct Owned {
    pid: u32,
    client: Option<Client>,
    closed: bool,
}

impl Drop for Owned {
    fn drop(&mut self) {
        if self.pid != std::process::id() {
            std::mem::forget(self.client.take());
        }
    }
}

#[pyclass(module = "switchyard._native", frozen)]
pub struct NativeClient {
    owned: Mutex<Owned>,
    source: Mutex<Source>,
}

fn build(source: &Source) -> PyResult<Client> {
    let runtime = runtime()?;
    // Health probes spawn on the ambient runtime.
    let _entered = runtime.enter();
    let builder = match source {
        Source::Value(config) => Client::builder().config(config.clone()),
        Source::File(path, watch) => {
            let builder = Client::builder().config_file(path);
            match watch {
                Some(interval) => builder.watch_config_file(*interval),
                None => builder,
            }
        }
        Source::Server(server) => Client::builder().server(server.clone()),
    };
    builder.build().map_err(|e| to_pyerr(&e))
}

/// A config from a path (str) or a mapping.
fn config_source(config: &Bound<'_, PyAny>, watch: Option<f64>) -> PyResult<Source> {
    if let Ok(path) = config.cast::<PyString>() {
        let watch = watch.map(|secs| Duration::from_secs_f64(secs.max(0.01)));
        return Ok(Source::File(PathBuf::from(&*path.to_cow()?), watch));
    }
    Ok(Source::Value(config_value(config)?))
}

fn config_value(config: &Bound<'_, PyAny>) -> PyResult<Config> {
    if let Ok(path) = config.cast::<PyString>() {
        return Config::from_file(&*path.to_cow()?).map_err(|e| to_pyerr(&Error::from(e)));
    }
    let value = convert::to_json(config).map_err(|e| {
        to_pyerr(&Error::from(switchyard::config::ConfigError::single(
            e.field, e.message,
        )))
    })?;
    Config::from_json_value(value).map_err(|e| to_pyerr(&Error::from(e)))
}

fn decode_request<T: serde::de::DeserializeOwned>(request: &Bound<'_, PyAny>) -> PyResult<T> {
    let value = convert::to_json(request).map_err(|e| errors::bad_request(&e.field, &e.message))?;
    decode(value).map_err(|e| to_pyerr(&e))
}

fn opt_str(value: &Bound<'_, PyAny>, name: &str) -> PyResult<Option<String>> {
    if value.is_none() {
        return Ok(None);
    }
    value
        .extract::<String>()
        .map(Some)
        .map_err(|_| PyTypeError::new_err(format!("{name} must be a str")))
}

/// Keyword options -> `CallOptions`. Unknown names are a `TypeError`, as for any keyword.
fn call_options(options: Option<&Bound<'_, PyDict>>) -> PyResult<CallOptions> {
    let mut out = CallOptions::default();
    let Some(options) = options else {
        return Ok(out);
    };
    for (key, value) in options.iter() {
        let key: String = key.extract()?;
        match key.as_str() {
            "timeout" => {
                if !value.is_none() {
                    let secs: f64 = value
                        .extract()
                        .map_err(|_| convert::type_error("timeout", "a number of seconds"))?;
                    if !(secs.is_finite() && secs > 0.0) {
                        return Err(PyValueError::new_err("timeout must be > 0 seconds"));
                    }
                    out.timeout = Some(Duration::from_secs_f64(secs));
                }
            }
            "user" => out.user = opt_str(&value, "user")?,
            "session" => out.session = opt_str(&value, "session")?,
            "tenant" => out.tenant = opt_str(&value, "tenant")?,
            "app" => out.app = opt_str(&value, "app")?,
            "deployment" => out.deployment = opt_str(&value, "deployment")?,
            "tags" => {
                if !value.is_none() {
                    if value.is_instance_of::<PyString>() {
                        return Err(convert::type_error("tags", "a list of str"));
                    }
                    out.tags = value
                        .extract::<Vec<String>>()
                        .map_err(|_| convert::type_error("tags", "a list of str"))?;
                }
            }
            "metadata" => {
                if !value.is_none() {
                    out.metadata = value
                        .extract::<BTreeMap<String, String>>()
                        .map_err(|_| convert::type_error("metadata", "a dict of str to str"))?;
                }
            }
            "cache" => {
                out.cache = if value.is_none() {
                    CacheControl::Default
                } else if let Ok(flag) = value.extract::<bool>() {
                    if flag {
                        CacheControl::Enable
                    } else {
                        CacheControl::Bypass
                    }
                } else {
                    match value.extract::<String>().as_deref() {
                        Ok("default") => CacheControl::Default,
                        Ok("bypass") => CacheControl::Bypass,
                        Ok("refresh") => CacheControl::Refresh,
                        Ok("enable") => CacheControl::Enable,
                        _ => {
                            return Err(PyValueError::new_err(
                                "cache must be 'default', 'bypass', 'refresh', 'enable', True or False",
                            ));
                        }
                    }
                };
            }
            other => {
                return Err(PyTypeError::new_err(format!(
                    "unexpected call option '{other}'"
                )));
            }
        }
    }
    Ok(out)
}

pub fn meta_to_py<'py>(py: Python<'py>, meta: &CallMeta) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    dict.set_item("model", &meta.model)?;
    dict.set_item("deployment", &meta.deployment)?;
    dict.set_item("provider", &meta.provider)?;
    dict.set_item("upstream_model", &meta.upstream_model)?;
    dict.set_item("attempts", meta.attempts)?;
    dict.set_item("cache_hit", meta.cache_hit)?;
    dict.set_item("fallback", meta.fallback.as_deref())?;
    dict.set_item("cost_usd", meta.cost_usd)?;
    dict.set_item("latency_ms", meta.latency.as_secs_f64() * 1000.0)?;
    dict.set_item("local", meta.local)?;
    Ok(dict)
}

fn serialize<T: serde::Serialize>(value: &T) -> PyResult<serde_json::Value> {
    serde_json::to_value(value).map_err(|e| errors::internal(format!("cannot serialize: {e}")))
}

/// The response as a dict, with what the pipeline did under `switchyard`.
fn outcome_to_py<'py, T: serde::Serialize>(
    py: Python<'py>,
    response: &T,
    meta: &CallMeta,
) -> PyResult<Bound<'py, PyAny>> {
    let object = to_py(py, &serialize(response)?)?;
    if let Ok(dict) = object.cast::<PyDict>() {
        dict.set_item("switchyard", meta_to_py(py, meta)?)?;
    }
    Ok(object)
}

fn chat_to_py(py: Python<'_>, outcome: ChatOutcome) -> PyResult<Py<PyAny>> {
    outcome_to_py(py, &outcome.response, &outcome.meta).map(Bound::unbind)
}

fn embed_to_py(py: Python<'_>, outcome: EmbedOutcome) -> PyResult<Py<PyAny>> {
    outcome_to_py(py, &outcome.response, &outcome.meta).map(Bound::unbind)
}

/// A call started from asyncio; `cancel()` drops it, which cancels the upstream call.
#[pyclass(module = "switchyard._native", frozen)]
pub struct NativeTask {
    abort: tokio::task::AbortHandle,
}

#[pymethods]
impl NativeTask {
    fn cancel(&self) {
        self.abort.abort();
    }

    fn done(&self) -> bool {
        self.abort.is_finished()
    }
}

/// Spawns `future` on the runtime; when it ends, `callback(ok, value)` is called (from a
/// worker thread, with the GIL) with the converted result or the exception to raise.
pub fn spawn_call<F, T>(
    future: F,
    convert: fn(Python<'_>, T) -> PyResult<Py<PyAny>>,
    callback: Py<PyAny>,
) -> PyResult<NativeTask>
where
    F: Future<Output = Result<T, Error>> + Send + 'static,
    T: Send + 'static,
{
    let runtime = runtime()?;
    let live = Live::new();
    let handle = runtime.spawn(async move {
        let _live = live;
        let out = AssertUnwindSafe(future).catch_unwind().await;
        Python::attach(|py| {
            let (ok, value): (bool, Py<PyAny>) = match out {
                Ok(Ok(value)) => match convert(py, value) {
                    Ok(object) => (true, object),
                    Err(e) => (false, e.into_value(py).into_any()),
                },
                Ok(Err(error)) => (false, to_pyerr(&error).into_value(py).into_any()),
                Err(panic) => (
                    false,
                    errors::internal(format!(
                        "internal error in switchyard (a Rust panic): {}",
                        errors::panic_message(panic.as_ref())
                    ))
                    .into_value(py)
                    .into_any(),
                ),
            };
            if let Err(e) = callback.call1(py, (ok, value)) {
                e.write_unraisable(py, None);
            }
        });
    });
    Ok(NativeTask {
        abort: handle.abort_handle(),
    })
}

impl NativeClient {
    /// The core client of this process (rebuilt after a fork).
    fn client(&self) -> PyResult<Client> {
        let pid = std::process::id();
        let mut owned = self.owned.lock().unwrap_or_else(|p| p.into_inner());
        if owned.closed {
            return Err(to_pyerr(&Error::new(
                switchyard::ErrorKind::Unavailable,
                "the client is closed",
            )));
        }
        if owned.pid != pid || owned.client.is_none() {
            let source = self
                .source
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone();
            let fresh = build(&source)?;
            *owned = Owned {
                pid,
                client: Some(fresh),
                closed: false,
            };
        }
        owned
            .client
            .clone()
            .ok_or_else(|| errors::internal("the client is closed"))
    }
}

#[pymethods]
impl NativeClient {
    /// From a config (path or mapping), or from the management server (`server` URL and
    /// `api_key`; `config_cache` keeps the last config on disk for starts while it is down).
    #[new]
    #[pyo3(signature = (config=None, watch=None, server=None, api_key=None, config_cache=None))]
    fn new(
        py: Python<'_>,
        config: Option<&Bound<'_, PyAny>>,
        watch: Option<f64>,
        server: Option<String>,
        api_key: Option<String>,
        config_cache: Option<PathBuf>,
    ) -> PyResult<Self> {
        guard(|| {
            let source = match (config, server, api_key) {
                (Some(config), None, None) => config_source(config, watch)?,
                (None, Some(url), Some(key)) => {
                    let mut server = ConfigServer::new(url, key);
                    if let Some(path) = config_cache {
                        server = server.cache_file(path);
                    }
                    Source::Server(server)
                }
                _ => {
                    return Err(PyTypeError::new_err(
                        "pass config=, or server= with api_key=",
                    ));
                }
            };
            // The first fetch from a server waits on the network: let other threads run.
            let client = py.detach(|| build(&source))?;
            Ok(NativeClient {
                owned: Mutex::new(Owned {
                    pid: std::process::id(),
                    client: Some(client),
                    closed: false,
                }),
                source: Mutex::new(source),
            })
        })
    }

    #[pyo3(signature = (request, options=None))]
    fn chat(
        &self,
        py: Python<'_>,
        request: &Bound<'_, PyAny>,
        options: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Py<PyAny>> {
        guard(|| {
            let request: ChatRequest = decode_request(request)?;
            let options = call_options(options)?;
            let client = self.client()?;
            let outcome = wait(py, client.chat(request, &options))?.map_err(|e| to_pyerr(&e))?;
            chat_to_py(py, outcome)
        })
    }

    #[pyo3(signature = (request, options=None))]
    fn chat_stream(
        &self,
        py: Python<'_>,
        request: &Bound<'_, PyAny>,
        options: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<NativeStream> {
        guard(|| {
            let request: ChatRequest = decode_request(request)?;
            let options = call_options(options)?;
            let client = self.client()?;
            let stream =
                wait(py, client.chat_stream(request, &options))?.map_err(|e| to_pyerr(&e))?;
            Ok(NativeStream::new(stream))
        })
    }

    #[pyo3(signature = (request, options=None))]
    fn embed(
        &self,
        py: Python<'_>,
        request: &Bound<'_, PyAny>,
        options: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Py<PyAny>> {
        guard(|| {
            let request: EmbeddingRequest = decode_request(request)?;
            let options = call_options(options)?;
            let client = self.client()?;
            let outcome = wait(py, client.embed(request, &options))?.map_err(|e| to_pyerr(&e))?;
            embed_to_py(py, outcome)
        })
    }

    #[pyo3(signature = (request, options, callback))]
    fn chat_async(
        &self,
        request: &Bound<'_, PyAny>,
        options: Option<&Bound<'_, PyDict>>,
        callback: Py<PyAny>,
    ) -> PyResult<NativeTask> {
        guard(|| {
            let request: ChatRequest = decode_request(request)?;
            let options = call_options(options)?;
            let client = self.client()?;
            spawn_call(
                async move { client.chat(request, &options).await },
                chat_to_py,
                callback,
            )
        })
    }

    #[pyo3(signature = (request, options, callback))]
    fn chat_stream_async(
        &self,
        request: &Bound<'_, PyAny>,
        options: Option<&Bound<'_, PyDict>>,
        callback: Py<PyAny>,
    ) -> PyResult<NativeTask> {
        guard(|| {
            let request: ChatRequest = decode_request(request)?;
            let options = call_options(options)?;
            let client = self.client()?;
            spawn_call(
                async move { client.chat_stream(request, &options).await },
                |py, stream| Ok(Py::new(py, NativeStream::new(stream))?.into_any()),
                callback,
            )
        })
    }

    #[pyo3(signature = (request, options, callback))]
    fn embed_async(
        &self,
        request: &Bound<'_, PyAny>,
        options: Option<&Bound<'_, PyDict>>,
        callback: Py<PyAny>,
    ) -> PyResult<NativeTask> {
        guard(|| {
            let request: EmbeddingRequest = decode_request(request)?;
            let options = call_options(options)?;
            let client = self.client()?;
            spawn_call(
                async move { client.embed(request, &options).await },
                embed_to_py,
                callback,
            )
        })
    }

    fn models<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        guard(|| to_py(py, &serialize(&self.client()?.models())?))
    }

    fn metrics<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        guard(|| to_py(py, &serialize(&self.client()?.metrics())?))
    }

    fn config<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        guard(|| to_py(py, &serialize(self.client()?.config().as_ref())?))
    }

    /// Swaps in a new config (a path or a mapping); an invalid one raises `ConfigError`
    /// and the old one stays.
    fn reload(&self, config: &Bound<'_, PyAny>) -> PyResult<()> {
        guard(|| {
            let config = config_value(config)?;
            let client = self.client()?;
            let runtime = runtime()?;
            let _entered = runtime.enter();
            client.reload(config.clone()).map_err(|e| to_pyerr(&e))?;
            *self.source.lock().unwrap_or_else(|p| p.into_inner()) = Source::Value(config);
            Ok(())
        })
    }

    /// Stops the config watcher and flushes usage; the client is unusable afterwards.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        guard(|| {
            let taken = {
                let mut owned = self.owned.lock().unwrap_or_else(|p| p.into_inner());
                owned.closed = true;
                if owned.pid != std::process::id() {
                    return Ok(());
                }
                owned.client.take()
            };
            if let Some(client) = taken {
                wait(py, async move { client.shutdown().await })?;
            }
            Ok(())
        })
    }

    #[getter]
    fn closed(&self) -> bool {
        let owned = self.owned.lock().unwrap_or_else(|p| p.into_inner());
        owned.closed
    }
}

/// Parses YAML (or JSON) text into Python data with the engine's own YAML reader, so tests
/// read scenario files exactly as the Rust runner does.
#[pyfunction]
pub fn parse_yaml<'py>(py: Python<'py>, text: &str) -> PyResult<Bound<'py, PyAny>> {
    let value: serde_json::Value =
        serde_norway::from_str(text).map_err(|e| PyValueError::new_err(e.to_string()))?;
    to_py(py, &value)
}

/// Panics inside the binding, to test that a panic surfaces as a typed error.
#[pyfunction]
#[pyo3(signature = (asynchronous=false, callback=None))]
pub fn _panic_for_test(asynchronous: bool, callback: Option<Py<PyAny>>) -> PyResult<()> {
    guard(|| {
        if let (true, Some(callback)) = (asynchronous, callback) {
            spawn_call(
                async { deliberate_panic("deliberate test panic (async)") },
                |_py, ()| Err(PyValueError::new_err("unreachable")),
                callback,
            )?;
            return Ok(());
        }
        deliberate_panic("deliberate test panic").map_err(|e| to_pyerr(&e))
    })
}

#[allow(clippy::panic)]
fn deliberate_panic(message: &'static str) -> Result<(), Error> {
    std::panic::panic_any(message)
}
