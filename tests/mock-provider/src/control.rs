//! The `/_mock/...` control API: health, sessions, scripts, counters, recorded requests.

use axum::body::Body;
use http::{Method, Response};
use serde_json::json;

use crate::respond::{json, mock_error};
use crate::router::App;
use crate::script::Script;
use crate::session::SessionState;

/// Serve a control request against `session` (the default one, or the `/s/{id}` one).
pub(crate) fn handle(
    app: &App,
    session: &SessionState,
    method: &Method,
    path: &str,
    body: &[u8],
) -> Response<Body> {
    if let Some(rest) = path.strip_prefix("/_mock/sessions/") {
        let (id, tail) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        if tail.is_empty() && method == Method::DELETE {
            return if app.registry.remove(id) {
                json(200, &json!({"deleted": id}))
            } else {
                mock_error(404, &format!("unknown mock session {id:?}"))
            };
        }
        return match app.registry.get(id) {
            Some(s) if !tail.is_empty() => handle(app, &s, method, &format!("/_mock{tail}"), body),
            Some(_) => mock_error(405, "use DELETE /_mock/sessions/{id}"),
            None => mock_error(404, &format!("unknown mock session {id:?}")),
        };
    }
    match (method.as_str(), path) {
        ("GET", "/_mock/health") => json(200, &json!({"status": "ok"})),
        ("POST", "/_mock/sessions") => match Script::from_body(body) {
            Ok(script) => {
                let (id, _) = app.registry.create(script);
                json(201, &json!({"id": id}))
            }
            Err(e) => mock_error(400, &e.to_string()),
        },
        ("GET", "/_mock/counters") => json(
            200,
            &serde_json::to_value(session.counters()).unwrap_or_default(),
        ),
        ("GET", "/_mock/requests") => json(
            200,
            &serde_json::to_value(session.requests()).unwrap_or_default(),
        ),
        ("GET", "/_mock/usage") => json(
            200,
            &serde_json::to_value(session.usage()).unwrap_or_default(),
        ),
        ("POST", "/_mock/reset") => {
            session.reset();
            json(200, &json!({"reset": true}))
        }
        ("PUT" | "POST", "/_mock/script") => match Script::from_body(body) {
            Ok(script) => {
                session.set_script(script);
                json(200, &json!({"script": "installed"}))
            }
            Err(e) => mock_error(400, &e.to_string()),
        },
        _ => mock_error(404, &format!("unknown control endpoint {method} {path}")),
    }
}
