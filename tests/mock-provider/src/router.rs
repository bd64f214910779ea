//! Request handling: session prefix, provider routes, checks, step, faults, response.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Body;
use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Response, header};
use http_body_util::BodyExt;
use serde_json::Value;

use crate::counters::RecordedRequest;
use crate::faults::{self, ConnCtl};
use crate::reply::{self, Pacing, Reply};
use crate::respond::{self, Payload, next_id};
use crate::script::{CompiledScript, Fault, Step};
use crate::session::{Registry, SessionState};
use crate::{anthropic, bedrock, control, gemini, openai, sse, usage, vertex};

/// State shared by every connection of one server.
#[derive(Debug)]
pub(crate) struct App {
    pub(crate) registry: Registry,
    /// Answer for models the script does not mention.
    pub(crate) default_step: Arc<Step>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Provider {
    OpenAi,
    Azure,
    Anthropic,
    Gemini,
    Bedrock,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Chat {
        stream_path: bool,
    },
    Embed,
    BatchEmbed,
    /// Vertex AI `:predict` (text embeddings).
    Predict,
    Models,
}

struct Route<'a> {
    provider: Provider,
    op: Op,
    path_model: Option<&'a str>,
    /// A Vertex AI path: Gemini or Anthropic behind Google's auth and URLs.
    vertex: bool,
}

/// Map a method and unprefixed path to a provider endpoint.
fn route<'a>(method: &Method, path: &'a str) -> Option<Route<'a>> {
    let post = method == Method::POST;
    let r = |provider, op, path_model| {
        Some(Route {
            provider,
            op,
            path_model,
            vertex: false,
        })
    };
    match path {
        "/v1/chat/completions" if post => {
            return r(Provider::OpenAi, Op::Chat { stream_path: false }, None);
        }
        "/v1/embeddings" if post => return r(Provider::OpenAi, Op::Embed, None),
        "/v1/models" if method == Method::GET => return r(Provider::OpenAi, Op::Models, None),
        "/v1/messages" if post => {
            return r(Provider::Anthropic, Op::Chat { stream_path: false }, None);
        }
        _ => {}
    }
    // Azure AI model inference: the model in the body, `api-version` required as on Azure.
    match path {
        "/models/chat/completions" if post => {
            return r(Provider::Azure, Op::Chat { stream_path: false }, None);
        }
        "/models/embeddings" if post => return r(Provider::Azure, Op::Embed, None),
        _ => {}
    }
    if let Some((publisher, model, action)) = vertex::split_path(path) {
        let (provider, op) = match (publisher, action) {
            ("google", "generateContent") => (Provider::Gemini, Op::Chat { stream_path: false }),
            ("google", "streamGenerateContent") => {
                (Provider::Gemini, Op::Chat { stream_path: true })
            }
            ("google", "predict") => (Provider::Gemini, Op::Predict),
            ("anthropic", "rawPredict") => (Provider::Anthropic, Op::Chat { stream_path: false }),
            ("anthropic", "streamRawPredict") => {
                (Provider::Anthropic, Op::Chat { stream_path: true })
            }
            _ => return None,
        };
        return post.then_some(Route {
            provider,
            op,
            path_model: Some(model),
            vertex: true,
        });
    }
    // Bedrock: `/model/{modelId}/{converse|converse-stream|invoke}`, the id percent-encoded.
    if let Some(rest) = path.strip_prefix("/model/") {
        let (model, action) = rest.rsplit_once('/')?;
        let op = match action {
            "converse" => Op::Chat { stream_path: false },
            "converse-stream" => Op::Chat { stream_path: true },
            "invoke" => Op::Embed,
            _ => return None,
        };
        return if post && !model.is_empty() {
            r(Provider::Bedrock, op, Some(model))
        } else {
            None
        };
    }
    if let Some(rest) = path.strip_prefix("/openai/deployments/") {
        let (deployment, action) = rest.split_once('/')?;
        return match action {
            "chat/completions" if post => r(
                Provider::Azure,
                Op::Chat { stream_path: false },
                Some(deployment),
            ),
            "embeddings" if post => r(Provider::Azure, Op::Embed, Some(deployment)),
            _ => None,
        };
    }
    // Gemini puts the action after a colon in the last segment: `models/{model}:{action}`.
    let segment = path
        .strip_prefix("/v1beta/models/")
        .or_else(|| path.strip_prefix("/v1/models/"))?;
    let (model, action) = segment.rsplit_once(':')?;
    if !post || model.is_empty() || model.contains('/') {
        return None;
    }
    let op = match action {
        "generateContent" => Op::Chat { stream_path: false },
        "streamGenerateContent" => Op::Chat { stream_path: true },
        "embedContent" => Op::Embed,
        "batchEmbedContents" => Op::BatchEmbed,
        _ => return None,
    };
    r(Provider::Gemini, op, Some(model))
}

/// Why a call was answered before reaching the script.
enum Rejection {
    Unauthorized(Option<String>),
    /// Vertex AI: no access token this mock issued.
    VertexUnauthenticated,
    /// Bedrock: the SigV4 `Authorization` header is missing or malformed.
    Unsigned(String),
    AnthropicVersion,
    AzureNotFound,
    BadRequest(String),
    /// A field the script's `compat.refuse_fields` names (the status and body to send).
    UnknownField(u16, Value),
}

fn query_param<'a>(query: Option<&'a str>, name: &str) -> Option<&'a str> {
    query?
        .split('&')
        .filter_map(|kv| kv.split_once('=').or(Some((kv, ""))))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The key the client presented, in the provider's own header (or `?key=`).
fn presented_key<'a>(
    provider: Provider,
    headers: &'a HeaderMap,
    query: Option<&'a str>,
) -> Option<&'a str> {
    let bearer = || header_str(headers, "authorization").and_then(|v| v.strip_prefix("Bearer "));
    match provider {
        Provider::OpenAi => bearer(),
        Provider::Azure => header_str(headers, "api-key").or_else(bearer),
        Provider::Anthropic => header_str(headers, "x-api-key"),
        Provider::Gemini => {
            header_str(headers, "x-goog-api-key").or_else(|| query_param(query, "key"))
        }
        // The access key id of the SigV4 credential scope.
        Provider::Bedrock => header_str(headers, "authorization")
            .and_then(|a| a.split("Credential=").nth(1))
            .and_then(|c| c.split('/').next()),
    }
}

/// Provider-level checks that run before a step is consumed.
fn check(
    route: &Route<'_>,
    script: &CompiledScript,
    headers: &HeaderMap,
    query: Option<&str>,
    body: &Result<Value, String>,
    model: Option<&str>,
) -> Result<(), Rejection> {
    if route.vertex {
        if !vertex::authorized(header_str(headers, "authorization")) {
            return Err(Rejection::VertexUnauthenticated);
        }
        let version = body.as_ref().ok().and_then(|b| b.get("anthropic_version"));
        if route.provider == Provider::Anthropic
            && version.and_then(Value::as_str) != Some("vertex-2023-10-16")
        {
            return Err(Rejection::BadRequest(
                "anthropic_version: vertex-2023-10-16 is required".into(),
            ));
        }
        return match body {
            Err(e) => Err(Rejection::BadRequest(e.clone())),
            Ok(_) => Ok(()),
        };
    }
    if route.provider == Provider::Bedrock {
        bedrock::signed_key_id(
            header_str(headers, "authorization"),
            header_str(headers, "x-amz-date"),
        )
        .map_err(Rejection::Unsigned)?;
    }
    if route.provider == Provider::Azure && query_param(query, "api-version").is_none() {
        return Err(Rejection::AzureNotFound);
    }
    if let Some(required) = script.require_api_key() {
        let presented = presented_key(route.provider, headers, query);
        if presented != Some(required) {
            return Err(Rejection::Unauthorized(presented.map(str::to_owned)));
        }
    }
    if route.provider == Provider::Anthropic && !headers.contains_key("anthropic-version") {
        return Err(Rejection::AnthropicVersion);
    }
    if route.op == Op::Models {
        return Ok(());
    }
    if let Err(e) = body {
        return Err(Rejection::BadRequest(e.clone()));
    }
    if model.is_none() {
        return Err(Rejection::BadRequest(
            "you must provide a model parameter".into(),
        ));
    }
    if let Ok(body) = body
        && matches!(route.provider, Provider::OpenAi | Provider::Azure)
        && let Some(field) = script
            .compat()
            .refuse_fields
            .iter()
            .find(|f| body.get(f.as_str()).is_some())
    {
        let (status, v) = openai::unknown_field(
            field,
            route.provider == Provider::Azure && route.path_model.is_none(),
        );
        return Err(Rejection::UnknownField(status, v));
    }
    Ok(())
}

/// Entry point for every request on every connection.
pub(crate) async fn handle<B>(app: &App, req: Request<B>, ctl: &ConnCtl) -> Response<Body>
where
    B: hyper::body::Body<Data = Bytes>,
    B::Error: std::fmt::Display,
{
    let (parts, body) = req.into_parts();
    let full_path = parts.uri.path();
    let (session, path) = match full_path.strip_prefix("/s/") {
        Some(rest) => {
            let (id, tail) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
            match app.registry.get(id) {
                Some(s) => (s, tail),
                None => return respond::mock_error(404, &format!("unknown mock session {id:?}")),
            }
        }
        None => (Arc::clone(&app.registry.default), full_path),
    };
    let raw = match body.collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) => return respond::mock_error(400, &format!("could not read body: {e}")),
    };
    if path == "/_mock" || path.starts_with("/_mock/") {
        return control::handle(app, &session, &parts.method, path, &raw);
    }
    if path == usage::USAGE_PATH && parts.method == Method::POST {
        let gzip = header_str(&parts.headers, "content-encoding") == Some("gzip");
        return match usage::decode(gzip, &raw) {
            Ok(body) => {
                let ack = usage::ack(&body);
                session.record_usage(body);
                respond::json(200, &ack)
            }
            Err(message) => respond::mock_error(400, &message),
        };
    }
    if path == "/token" && parts.method == Method::POST {
        // Recorded, so a scenario can count token exchanges (one per cached token).
        session.record(RecordedRequest {
            method: "POST".to_owned(),
            path: path.to_owned(),
            query: parts.uri.query().map(str::to_owned),
            headers: record_headers(&parts.headers),
            body: Value::String(String::from_utf8_lossy(&raw).into_owned()),
        });
        let (status, answer) = vertex::token(&raw);
        return respond::json(status, &answer);
    }
    provider_call(
        app,
        &session,
        &parts.method,
        path,
        parts.uri.query(),
        &parts.headers,
        raw,
        ctl,
    )
    .await
}

#[allow(clippy::too_many_arguments)]
async fn provider_call(
    app: &App,
    session: &SessionState,
    method: &Method,
    path: &str,
    query: Option<&str>,
    headers: &HeaderMap,
    raw: Bytes,
    ctl: &ConnCtl,
) -> Response<Body> {
    let parsed: Result<Value, String> = if raw.is_empty() {
        Ok(Value::Null)
    } else {
        serde_json::from_slice(&raw)
            .map_err(|e| format!("We could not parse the JSON body of your request: {e}"))
    };
    let route = route(method, path);
    let model: Option<String> = match (&route, &parsed) {
        (
            Some(Route {
                path_model: Some(m),
                provider,
                ..
            }),
            _,
        ) if *provider == Provider::Bedrock => Some(bedrock::percent_decode(m)),
        (
            Some(Route {
                path_model: Some(m),
                ..
            }),
            _,
        ) => Some((*m).to_owned()),
        (_, Ok(body)) => body.get("model").and_then(Value::as_str).map(str::to_owned),
        _ => None,
    };
    let record = RecordedRequest {
        method: method.as_str().to_owned(),
        path: path.to_owned(),
        query: query.map(str::to_owned),
        headers: record_headers(headers),
        body: match &parsed {
            Ok(v) => v.clone(),
            Err(_) => Value::String(String::from_utf8_lossy(&raw).into_owned()),
        },
    };
    let override_step = header_str(headers, "x-mock-step").map(Step::from_header);
    let Some(route) = route else {
        session.record(record);
        return not_found(method, path);
    };
    let use_script = override_step.is_none() && route.op != Op::Models;
    let (script, decision) = session.admit(model.as_deref(), record, |script| {
        check(&route, script, headers, query, &parsed, model.as_deref()).map(|()| use_script)
    });
    let model = model.unwrap_or_default();
    let step = match decision {
        Err(rejection) => return reject(route.provider, rejection, &model),
        Ok(scripted) => match override_step {
            Some(Ok(step)) => Arc::new(step),
            Some(Err(e)) => {
                return respond::mock_error(400, &format!("bad x-mock-step header: {e}"));
            }
            None => scripted.unwrap_or_else(|| Arc::clone(&app.default_step)),
        },
    };
    let defaults = script.defaults();

    let delay = reply::header_delay(&step, defaults);
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    match step.fault {
        Some(Fault::Reset) => {
            ctl.reset();
            match faults::hang().await {}
        }
        Some(Fault::Hang) => match faults::hang().await {},
        _ => {}
    }

    let status = step.status();
    let body = parsed.unwrap_or(Value::Null);
    let mut resp = if !(200..300).contains(&status) {
        error_response(route.provider, status, &step, &model)
    } else {
        let stream = match route.op {
            Op::Chat { stream_path } => {
                stream_path || body.get("stream").and_then(Value::as_bool) == Some(true)
            }
            _ => false,
        };
        if route.provider == Provider::Gemini && stream && query_param(query, "alt") != Some("sse")
        {
            let msg = "switchyard-mock serves streamGenerateContent only with ?alt=sse";
            return respond::json(400, &gemini::error(400, None, Some(msg), &model));
        }
        match payload(
            route.provider,
            route.op,
            stream,
            &step,
            &script,
            &model,
            &body,
            &raw,
        ) {
            Ok(payload) => finish(route.provider, status, payload, &step, defaults),
            Err(msg) => error_body(route.provider, 400, None, Some(&msg), &model),
        }
    };
    add_headers(&mut resp, route.provider, &step);
    resp
}

#[allow(clippy::too_many_arguments)]
fn payload(
    provider: Provider,
    op: Op,
    stream: bool,
    step: &Step,
    script: &CompiledScript,
    model: &str,
    body: &Value,
    raw: &[u8],
) -> Result<Payload, String> {
    Ok(match (provider, op) {
        (_, Op::Models) => Payload::Json(openai::models(
            script.source.models.keys().map(String::as_str),
        )),
        (Provider::OpenAi | Provider::Azure, Op::Embed | Op::BatchEmbed) => {
            Payload::Json(openai::embeddings(body, step, model)?)
        }
        (_, Op::Predict) => Payload::Json(vertex::predict(body, step)),
        (Provider::Gemini, Op::Embed) => Payload::Json(gemini::embed(body, step)),
        (Provider::Gemini, Op::BatchEmbed) => Payload::Json(gemini::batch_embed(body, step)),
        (Provider::Bedrock, Op::Embed | Op::BatchEmbed) => {
            Payload::Json(bedrock::invoke(body, step)?)
        }
        (Provider::Anthropic, Op::Embed | Op::BatchEmbed) => {
            return Err("embeddings are not supported".into());
        }
        (_, Op::Chat { .. }) => {
            let reply = Reply::new(step, model, body, raw);
            match provider {
                Provider::OpenAi | Provider::Azure => {
                    let compat = script.compat();
                    let asked = body
                        .pointer("/stream_options/include_usage")
                        .and_then(Value::as_bool)
                        == Some(true);
                    let usage = if compat.usage_in_choice {
                        openai::StreamUsage::InChoice
                    } else if asked || compat.usage_always {
                        openai::StreamUsage::LastChunk
                    } else {
                        openai::StreamUsage::Off
                    };
                    openai::chat(&reply, stream, usage)
                }
                Provider::Anthropic => anthropic::messages(&reply, stream),
                Provider::Gemini => gemini::generate(&reply, stream),
                Provider::Bedrock => bedrock::converse(&reply, step, stream),
            }
        }
    })
}

/// Turn a payload into a response, applying the `malformed` and `cut` faults.
fn finish(
    provider: Provider,
    status: u16,
    payload: Payload,
    step: &Step,
    defaults: crate::script::Defaults,
) -> Response<Body> {
    match payload {
        Payload::Json(v) => {
            let json_type = json_content_type(provider);
            match step.fault {
                Some(Fault::Malformed) => {
                    let mut resp = respond::json_with(status, json_type, &Value::Null);
                    *resp.body_mut() = Body::from(Bytes::from_static(faults::MALFORMED_JSON));
                    resp
                }
                Some(fault @ (Fault::Cut | Fault::Stall)) => {
                    let bytes = Bytes::from(serde_json::to_vec(&v).unwrap_or_default());
                    let mut resp = respond::json_with(status, json_type, &Value::Null);
                    resp.headers_mut()
                        .insert(header::CONTENT_LENGTH, HeaderValue::from(bytes.len()));
                    *resp.body_mut() = sse::partial(bytes.slice(..bytes.len() / 2), fault);
                    resp
                }
                _ => respond::json_with(status, json_type, &v),
            }
        }
        Payload::Sse { frames, malformed } => {
            let body = sse::body(frames, malformed, step, Pacing::new(step, defaults));
            let mut resp = Response::new(body);
            *resp.status_mut() = http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::OK);
            let h = resp.headers_mut();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(sse_content_type(provider)),
            );
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
            resp
        }
    }
}

fn json_content_type(provider: Provider) -> &'static str {
    match provider {
        Provider::Gemini => "application/json; charset=UTF-8",
        _ => "application/json",
    }
}

fn sse_content_type(provider: Provider) -> &'static str {
    match provider {
        Provider::Gemini => "text/event-stream",
        Provider::Bedrock => bedrock::STREAM_CONTENT_TYPE,
        _ => "text/event-stream; charset=utf-8",
    }
}

fn error_body(
    provider: Provider,
    status: u16,
    kind: Option<&str>,
    message: Option<&str>,
    model: &str,
) -> Response<Body> {
    if provider == Provider::Bedrock {
        let (error_type, v) = bedrock::error(status, kind, message);
        let mut resp = respond::json_with(status, json_content_type(provider), &v);
        if let Ok(value) = HeaderValue::from_str(&error_type) {
            resp.headers_mut()
                .insert(HeaderName::from_static("x-amzn-errortype"), value);
        }
        return resp;
    }
    let v = match provider {
        Provider::Bedrock => Value::Null,
        Provider::OpenAi | Provider::Azure => openai::error(status, kind, message, model),
        Provider::Anthropic => anthropic::error(status, kind, message, model),
        Provider::Gemini => gemini::error(status, kind, message, model),
    };
    respond::json_with(status, json_content_type(provider), &v)
}

fn error_response(provider: Provider, status: u16, step: &Step, model: &str) -> Response<Body> {
    error_body(
        provider,
        status,
        step.error_type.as_deref(),
        step.error_message.as_deref(),
        model,
    )
}

fn reject(provider: Provider, rejection: Rejection, model: &str) -> Response<Body> {
    let mut resp = match rejection {
        Rejection::Unauthorized(presented) => {
            let v = match provider {
                Provider::OpenAi => openai::unauthorized(presented.as_deref()),
                Provider::Azure => openai::azure_unauthorized(),
                Provider::Anthropic => {
                    let msg = match presented {
                        None => "x-api-key header is required",
                        Some(_) => "invalid x-api-key",
                    };
                    anthropic::error(401, None, Some(msg), model)
                }
                Provider::Gemini => gemini::unauthorized(),
                Provider::Bedrock => {
                    return error_body(
                        provider,
                        403,
                        Some("UnrecognizedClientException"),
                        Some("The security token included in the request is invalid."),
                        model,
                    );
                }
            };
            respond::json_with(401, json_content_type(provider), &v)
        }
        Rejection::VertexUnauthenticated => {
            respond::json_with(401, json_content_type(provider), &vertex::unauthenticated())
        }
        Rejection::Unsigned(message) => {
            let kind = if message.starts_with("Missing") {
                "MissingAuthenticationTokenException"
            } else {
                "IncompleteSignatureException"
            };
            error_body(provider, 403, Some(kind), Some(&message), model)
        }
        Rejection::AnthropicVersion => error_body(
            provider,
            400,
            None,
            Some("anthropic-version: header is required"),
            model,
        ),
        Rejection::AzureNotFound => respond::json(404, &openai::azure_not_found()),
        Rejection::BadRequest(msg) => error_body(provider, 400, None, Some(&msg), model),
        Rejection::UnknownField(status, v) => respond::json(status, &v),
    };
    add_headers(&mut resp, provider, &Step::default());
    resp
}

/// Unknown endpoint: each provider family's own 404.
fn not_found(method: &Method, path: &str) -> Response<Body> {
    if path.starts_with("/openai/") {
        return respond::json(404, &openai::azure_not_found());
    }
    if path.starts_with("/v1beta/") {
        return respond::json(
            404,
            &gemini::error(
                404,
                None,
                Some(&format!("Requested entity was not found: {path}")),
                "",
            ),
        );
    }
    respond::json(
        404,
        &serde_json::json!({"error": {
            "message": format!("Invalid URL ({method} {path})"),
            "type": "invalid_request_error", "param": null, "code": null
        }}),
    )
}

/// Request ids, Retry-After variants and the step's extra headers.
fn add_headers(resp: &mut Response<Body>, provider: Provider, step: &Step) {
    let h = resp.headers_mut();
    let id = HeaderValue::from_str(&format!("req_{}", next_id())).ok();
    if let Some(id) = id {
        let name = match provider {
            Provider::OpenAi => "x-request-id",
            Provider::Azure => "apim-request-id",
            Provider::Anthropic => "request-id",
            Provider::Gemini => "x-mock-request-id",
            Provider::Bedrock => "x-amzn-requestid",
        };
        h.insert(HeaderName::from_static(name), id);
    }
    if let Some(v) = step
        .retry_after
        .as_deref()
        .and_then(|v| HeaderValue::from_str(v).ok())
    {
        h.insert(header::RETRY_AFTER, v);
    }
    if let Some(secs) = step.retry_after_secs_date {
        let when = std::time::SystemTime::now() + std::time::Duration::from_secs(secs);
        if let Ok(v) = HeaderValue::from_str(&httpdate::fmt_http_date(when)) {
            h.insert(header::RETRY_AFTER, v);
        }
    }
    if let Some(ms) = step.retry_after_ms {
        h.insert(
            HeaderName::from_static("retry-after-ms"),
            HeaderValue::from(ms),
        );
    }
    for (name, value) in &step.headers {
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            h.insert(n, v);
        }
    }
}

fn record_headers(headers: &HeaderMap) -> BTreeMap<String, String> {
    let mut out: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in headers {
        let value = String::from_utf8_lossy(value.as_bytes());
        match out.get_mut(name.as_str()) {
            Some(existing) => {
                existing.push_str(", ");
                existing.push_str(&value);
            }
            None => {
                out.insert(name.as_str().to_owned(), value.into_owned());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gemini_model_action_segment_is_split() {
        let r = route(
            &Method::POST,
            "/v1beta/models/gemini-2.0-flash:streamGenerateContent",
        )
        .unwrap();
        assert_eq!(r.provider, Provider::Gemini);
        assert_eq!(r.path_model, Some("gemini-2.0-flash"));
        assert_eq!(r.op, Op::Chat { stream_path: true });
        assert!(route(&Method::POST, "/v1beta/models/x:explode").is_none());
    }

    #[test]
    fn azure_deployment_is_the_model() {
        let r = route(&Method::POST, "/openai/deployments/my-gpt/chat/completions").unwrap();
        assert_eq!(
            (r.provider, r.path_model),
            (Provider::Azure, Some("my-gpt"))
        );
    }
}
