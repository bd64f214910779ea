//! llama.cpp behind the local provider: the process-wide backend, the model registry (one
//! memory-mapped model per file, loaded on first use and kept for the life of the process),
//! the bounded pools of contexts, and the generation loop that runs on a blocking thread.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::context::params::LlamaContextParams;
use llama_cpp_2::gguf::GgufContext;
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::model::{LlamaChatMessage, LlamaChatTemplate, LlamaModel};
use llama_cpp_2::sampling::LlamaSampler;
use llama_cpp_2::token::LlamaToken;
use llama_cpp_2::token::logit_bias::LlamaLogitBias;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::text::{Matched, PENALTY_LAST_N, Sampling, StopMatcher, Utf8Decoder};
use crate::error::{Error, ErrorKind, Result};
use crate::types::FinishReason;

/// Locks a mutex even if a thread panicked while holding it: the data it guards (maps and
/// lists of handles) stays consistent at every step.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

static BACKEND: OnceLock<std::result::Result<LlamaBackend, String>> = OnceLock::new();

/// llama.cpp's global state, initialised once; its logs go to `tracing` (target
/// `llama-cpp-2`), not to stderr.
fn backend() -> Result<&'static LlamaBackend> {
    BACKEND
        .get_or_init(|| {
            llama_cpp_2::send_logs_to_tracing(llama_cpp_2::LogOptions::default());
            LlamaBackend::init().map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| {
            Error::new(
                ErrorKind::Unavailable,
                format!("llama.cpp failed to start: {e}"),
            )
        })
}

/// A loaded model: weights memory-mapped from the file, its chat template, its limits.
pub(crate) struct Model {
    pub llama: LlamaModel,
    template: LlamaChatTemplate,
    pub n_ctx_train: u32,
    pub architecture: String,
    /// The end-of-generation tokens (end of text, end of turn...), for `ignore_eos`.
    eog: Vec<LlamaToken>,
}

/// Loaded models by canonical path. Entries live as long as the process: contexts borrow
/// their model, and a model is small next to what reloading it on every client would cost.
static MODELS: OnceLock<Mutex<HashMap<PathBuf, &'static Model>>> = OnceLock::new();

/// Serialises context creation: llama.cpp may write to the model while making a context.
static CONTEXT_CREATION: Mutex<()> = Mutex::new(());

/// The error for a model that cannot be served, naming the config field to fix.
fn model_error(field: &str, message: impl Into<String>) -> Error {
    Error::new(
        ErrorKind::Config {
            path: field.to_owned(),
        },
        message,
    )
}

/// Returns the model at `path`, loading it on first use. Blocks: call it off the executor.
/// A failed load is not remembered, so fetching the file fixes the next call.
pub(crate) fn load_model(path: &Path, field: &str) -> Result<&'static Model> {
    let backend = backend()?;
    let canonical = std::fs::canonicalize(path).map_err(|e| {
        model_error(
            field,
            format!(
                "local model file {} cannot be opened: {e} (run `make model` to fetch the default \
                 SmolLM2-135M-Instruct model, or fix model_path / SWITCHYARD_LOCAL_MODEL)",
                path.display()
            ),
        )
    })?;
    let mut models = lock(MODELS.get_or_init(Default::default));
    if let Some(model) = models.get(&canonical) {
        return Ok(model);
    }
    check_gguf_header(&canonical, field)?;
    let started = Instant::now();
    let params = LlamaModelParams::default().with_use_mmap(true);
    let llama = LlamaModel::load_from_file(backend, &canonical, &params)
        .map_err(|e| model_error(field, diagnose_load_failure(&canonical, &e.to_string())))?;
    let architecture = llama
        .meta_val_str("general.architecture")
        .unwrap_or_else(|_| "unknown".to_owned());
    let template = match llama.chat_template(None) {
        Ok(template) => template,
        Err(e) => {
            tracing::warn!(model = %canonical.display(), error = %e,
                "the model has no usable tokenizer.chat_template; using ChatML");
            LlamaChatTemplate::new("chatml")
                .map_err(|e| model_error(field, format!("chat template: {e}")))?
        }
    };
    let eog = {
        let vocab = llama.vocab();
        vocab.tokens().filter(|t| vocab.is_eog(*t)).collect()
    };
    let model: &'static Model = Box::leak(Box::new(Model {
        eog,
        n_ctx_train: llama.n_ctx_train(),
        llama,
        template,
        architecture,
    }));
    tracing::info!(
        model = %canonical.display(),
        architecture = %model.architecture,
        size_mb = model.llama.size() / 1_000_000,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "local model loaded"
    );
    models.insert(canonical, model);
    Ok(model)
}

/// Refuses files that are not GGUF at all before llama.cpp sees them.
fn check_gguf_header(path: &Path, field: &str) -> Result<()> {
    use std::io::Read;
    let mut magic = [0u8; 4];
    let read = std::fs::File::open(path).and_then(|mut f| f.read_exact(&mut magic));
    if read.is_err() || &magic != b"GGUF" {
        return Err(model_error(
            field,
            format!(
                "{} is not a GGUF model file (no GGUF header); run `make model` to fetch the \
                 default model",
                path.display()
            ),
        ));
    }
    Ok(())
}

/// Why llama.cpp refused a file that starts like GGUF: an unreadable header means a corrupt
/// file; a readable one names the architecture, which this llama.cpp may not know.
fn diagnose_load_failure(path: &Path, error: &str) -> String {
    let Some(gguf) = GgufContext::from_file(path) else {
        return format!(
            "{} is corrupt or truncated: its GGUF header cannot be read ({error})",
            path.display()
        );
    };
    let key = gguf.find_key("general.architecture");
    // GGUF_TYPE_STRING; reading a key of another type would abort inside ggml.
    let architecture = (key >= 0 && gguf.kv_type(key) == 8)
        .then(|| gguf.val_str(key))
        .flatten()
        .unwrap_or("unknown");
    format!(
        "llama.cpp cannot load {} (architecture `{architecture}`): the architecture is not \
         supported by this build, or the tensor data is corrupt or truncated ({error})",
        path.display()
    )
}

/// Settings of one pool of contexts.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct PoolKey {
    pub path: PathBuf,
    pub context_size: u32,
    pub threads: u32,
    pub max_concurrency: u32,
}

/// Up to `max_concurrency` contexts over one model, shared by every client of the process
/// that configures the same file and settings. Calls beyond capacity queue (at most
/// `max_queue` of them) until a context frees up or their time runs out.
pub(crate) struct Pool {
    pub key: PoolKey,
    /// The config field to name in load errors (`providers.NAME.model_path`).
    field: String,
    permits: Arc<Semaphore>,
    waiting: AtomicUsize,
    max_queue: usize,
    idle: Mutex<Vec<LlamaContext<'static>>>,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("key", &self.key)
            .field("available", &self.permits.available_permits())
            .field("waiting", &self.waiting.load(Ordering::Relaxed))
            .finish()
    }
}

static POOLS: OnceLock<Mutex<HashMap<PoolKey, Arc<Pool>>>> = OnceLock::new();

impl Pool {
    /// The process's pool for these settings (created on first use; nothing is loaded yet).
    pub fn shared(key: PoolKey, max_queue: u32, field: String) -> Arc<Pool> {
        let mut pools = lock(POOLS.get_or_init(Default::default));
        pools
            .entry(key.clone())
            .or_insert_with(|| {
                Arc::new(Pool {
                    permits: Arc::new(Semaphore::new(key.max_concurrency as usize)),
                    key,
                    field,
                    waiting: AtomicUsize::new(0),
                    max_queue: max_queue as usize,
                    idle: Mutex::new(Vec::new()),
                })
            })
            .clone()
    }

    /// Waits for a free context slot, up to `wait` (or forever), else fails `overloaded`.
    pub async fn admit(&self, wait: Option<Duration>) -> Result<OwnedSemaphorePermit> {
        if let Ok(permit) = self.permits.clone().try_acquire_owned() {
            return Ok(permit);
        }
        let overloaded = |why: &str| {
            Error::new(
                ErrorKind::Overloaded,
                format!(
                    "the local model is busy (all {} contexts generating): {why}",
                    self.key.max_concurrency
                ),
            )
        };
        if self.waiting.fetch_add(1, Ordering::SeqCst) >= self.max_queue {
            self.waiting.fetch_sub(1, Ordering::SeqCst);
            return Err(overloaded(&format!(
                "{} calls already queued (max_queue)",
                self.max_queue
            )));
        }
        let acquire = self.permits.clone().acquire_owned();
        let result = match wait {
            Some(wait) => tokio::time::timeout(wait, acquire).await.ok(),
            None => Some(acquire.await),
        };
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        match result {
            Some(Ok(permit)) => Ok(permit),
            Some(Err(_)) => Err(overloaded("the pool is closed")),
            None => Err(overloaded(&format!(
                "no context freed up within {:.3}s",
                wait.unwrap_or_default().as_secs_f64()
            ))),
        }
    }

    fn take_context(&self, model: &'static Model) -> Result<LlamaContext<'static>> {
        if let Some(ctx) = lock(&self.idle).pop() {
            return Ok(ctx);
        }
        let n_ctx = self.key.context_size.min(model.n_ctx_train.max(64));
        let threads = i32::try_from(self.key.threads).unwrap_or(4);
        let params = LlamaContextParams::default()
            .with_n_ctx(NonZeroU32::new(n_ctx))
            .with_n_batch(n_ctx)
            .with_n_threads(threads)
            .with_n_threads_batch(threads);
        let _creating = lock(&CONTEXT_CREATION);
        model
            .llama
            .new_context(backend()?, params)
            .map_err(|e| Error::new(ErrorKind::Unavailable, format!("llama.cpp context: {e}")))
    }

    fn return_context(&self, ctx: LlamaContext<'static>) {
        lock(&self.idle).push(ctx);
    }

    /// Runs one generation on the calling (blocking) thread: loads the model if needed,
    /// takes a context, generates, gives the context back.
    pub fn run(
        &self,
        job: &Job,
        cancel: &AtomicBool,
        emit: &mut dyn FnMut(String) -> bool,
    ) -> Result<Outcome> {
        let model = load_model(&self.key.path, &self.field)?;
        let mut ctx = self.take_context(model)?;
        let result = generate(model, &mut ctx, job, cancel, emit);
        self.return_context(ctx);
        result
    }
}

/// What to generate.
#[derive(Debug, Clone)]
pub(crate) struct Job {
    /// (role, text) in order.
    pub messages: Vec<(String, String)>,
    pub sampling: Sampling,
    pub max_tokens: Option<u32>,
    pub stops: Vec<String>,
    /// Generation fails `timeout` past this instant.
    pub deadline: Option<Instant>,
    /// The configured context window (llama.cpp may allocate more).
    pub context_size: u32,
}

/// How a generation ended.
#[derive(Debug, Clone)]
pub(crate) struct Outcome {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub finish: FinishReason,
}

fn engine_error(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::Upstream { status: 500 }, message)
}

/// The chat template applied to the messages, ending with the assistant's opening.
fn render_prompt(model: &Model, messages: &[(String, String)]) -> Result<String> {
    let chat = messages
        .iter()
        .enumerate()
        .map(|(i, (role, text))| {
            LlamaChatMessage::new(role.clone(), text.clone()).map_err(|_| {
                Error::bad_request(format!("messages[{i}].content"), "contains a NUL byte")
            })
        })
        .collect::<Result<Vec<_>>>()?;
    model
        .llama
        .apply_chat_template(&model.template, &chat, true)
        .map_err(|e| engine_error(format!("the model's chat template failed: {e}")))
}

fn sampler(model: &Model, s: &Sampling) -> LlamaSampler {
    let mut chain = Vec::new();
    if s.ignore_eos && !model.eog.is_empty() {
        let biases: Vec<LlamaLogitBias> = model
            .eog
            .iter()
            .map(|t| LlamaLogitBias::new(*t, f32::NEG_INFINITY))
            .collect();
        chain.push(LlamaSampler::logit_bias(model.llama.n_vocab(), &biases));
    }
    if s.has_penalties() {
        chain.push(LlamaSampler::penalties(
            model.llama.n_vocab(),
            PENALTY_LAST_N,
            s.repeat_penalty,
            s.frequency_penalty,
            s.presence_penalty,
        ));
    }
    if s.is_greedy() {
        chain.push(LlamaSampler::greedy());
    } else {
        if s.top_k > 0 {
            chain.push(LlamaSampler::top_k(s.top_k));
        }
        chain.push(LlamaSampler::top_p(s.top_p, 1));
        chain.push(LlamaSampler::temp(s.temperature));
        chain.push(LlamaSampler::dist(s.seed));
    }
    LlamaSampler::chain_simple(chain)
}

/// The generation loop. `emit` gets each piece of text as soon as it is certain (whole
/// UTF-8 characters, never part of a stop sequence) and returns false once nobody listens.
/// Cancellation, a gone listener and the deadline are checked before every token.
fn generate(
    model: &Model,
    ctx: &mut LlamaContext<'static>,
    job: &Job,
    cancel: &AtomicBool,
    emit: &mut dyn FnMut(String) -> bool,
) -> Result<Outcome> {
    let prompt = render_prompt(model, &job.messages)?;
    let vocab = model.llama.vocab();
    let tokens = vocab.tokenize(prompt.as_bytes(), true, true);
    // llama.cpp may round the window up; the configured size is the contract.
    let n_ctx = (ctx.n_ctx() as usize).min(job.context_size as usize);
    let n_batch = (ctx.n_batch() as usize).max(1);
    let n_prompt = tokens.len();
    let wanted = job.max_tokens.map_or(1, |m| m.max(1) as usize);
    if n_prompt == 0 || n_prompt + wanted > n_ctx {
        return Err(Error::new(
            ErrorKind::ContextWindowExceeded,
            format!(
                "the prompt is {n_prompt} tokens and {wanted} more were asked for; the local \
                 model's context window is {n_ctx} tokens"
            ),
        ));
    }
    let stopped = |cancel: &AtomicBool| -> Result<()> {
        if cancel.load(Ordering::Relaxed) {
            return Err(Error::canceled());
        }
        if job.deadline.is_some_and(|d| Instant::now() >= d) {
            return Err(Error::timeout(
                "the local model ran past the attempt's time limit",
            ));
        }
        Ok(())
    };
    stopped(cancel)?;

    ctx.clear_kv_cache();
    // The prompt in slices of at most n_batch tokens; logits for its last token only.
    let mut batch = LlamaBatch::new(n_batch, 1);
    for (i, slice) in tokens.chunks(n_batch).enumerate() {
        stopped(cancel)?;
        batch.clear();
        for (j, token) in slice.iter().enumerate() {
            let pos = i * n_batch + j;
            batch
                .add(*token, pos as i32, &[0], pos + 1 == n_prompt)
                .map_err(|e| engine_error(format!("prompt batch: {e}")))?;
        }
        ctx.decode(&mut batch)
            .map_err(|e| engine_error(format!("llama.cpp prompt decode: {e}")))?;
    }

    let mut sampler = sampler(model, &job.sampling);
    let mut decoder = Utf8Decoder::default();
    let mut stops = StopMatcher::new(job.stops.clone());
    let limit = job.max_tokens.map(|m| m as usize);
    let mut n_past = n_prompt;
    let mut completion = 0usize;
    let mut piece = Vec::with_capacity(32);
    let mut logits_at = batch.n_tokens() - 1;
    let mut send = |text: String| -> Result<()> {
        if text.is_empty() || emit(text) {
            Ok(())
        } else {
            Err(Error::canceled())
        }
    };
    let finish = loop {
        stopped(cancel)?;
        let token = sampler.sample(ctx, logits_at);
        if vocab.is_eog(token) {
            break FinishReason::Stop;
        }
        completion += 1;
        piece.clear();
        vocab.token_to_piece_into(token, &mut piece, false, None);
        let text = decoder.push(&piece);
        match stops.push(&text) {
            Matched::Emit(text) => send(text)?,
            Matched::Stop(text) => {
                send(text)?;
                return Ok(Outcome {
                    prompt_tokens: n_prompt as u64,
                    completion_tokens: completion as u64,
                    finish: FinishReason::Stop,
                });
            }
        }
        if limit.is_some_and(|l| completion >= l) || n_past + 1 >= n_ctx {
            break FinishReason::Length;
        }
        batch.clear();
        batch
            .add(token, n_past as i32, &[0], true)
            .map_err(|e| engine_error(format!("batch: {e}")))?;
        stopped(cancel)?;
        ctx.decode(&mut batch)
            .map_err(|e| engine_error(format!("llama.cpp decode: {e}")))?;
        n_past += 1;
        logits_at = 0;
    };
    let rest = decoder.finish();
    let tail = match stops.push(&rest) {
        Matched::Emit(text) => text + &stops.finish(),
        Matched::Stop(text) => text,
    };
    send(tail)?;
    Ok(Outcome {
        prompt_tokens: n_prompt as u64,
        completion_tokens: completion as u64,
        finish,
    })
}

/// The tokens of `text` under the model at `path` (tests and benches size prompts with it).
pub fn count_tokens(path: &Path, text: &str) -> Result<usize> {
    let model = load_model(path, "model_path")?;
    Ok(model
        .llama
        .vocab()
        .tokenize(text.as_bytes(), false, false)
        .len())
}
