//! Session isolation, the HTTP control API and the binary.
// clippy.toml allows unwrap/expect only inside #[test] fns; the helpers here are test code too.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use common::*;
use serde_json::Value;
use switchyard_mock_provider::{MockServer, Script};

#[tokio::test]
async fn sessions_are_isolated_from_each_other_and_the_default() {
    let mock = MockServer::start_with(script("models: { m: [ { content: default } ] }"))
        .await
        .unwrap();
    let a = mock.session(script(
        "models: { m: [ { status: 429, times: 1 }, { content: from a } ] }",
    ));
    let b = mock.session(script("models: { m: [ { content: from b } ] }"));
    assert_ne!(a.id(), b.id());
    assert_eq!(a.url(), format!("{}/s/{}", mock.url(), a.id()));

    let content = |url: String| async move {
        let r = client()
            .post(format!("{url}/v1/chat/completions"))
            .json(&chat_body("m"))
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let v: Value = r.json().await.unwrap();
        (
            status,
            v["choices"][0]["message"]["content"]
                .as_str()
                .map(str::to_owned),
        )
    };
    assert_eq!(content(a.url()).await.0, 429);
    assert_eq!(content(b.url()).await, (200, Some("from b".into())));
    assert_eq!(content(a.url()).await, (200, Some("from a".into())));
    assert_eq!(content(mock.url()).await, (200, Some("default".into())));

    assert_eq!(a.counters().total, 2);
    assert_eq!(b.counters().total, 1);
    assert_eq!(mock.counters().total, 1);
    assert_eq!(
        a.counters().paths["/v1/chat/completions"],
        2,
        "paths are recorded without the prefix"
    );
    assert_eq!(a.requests()[0].path, "/v1/chat/completions");
}

#[tokio::test]
async fn two_servers_in_one_process_are_independent() {
    let one = MockServer::start().await.unwrap();
    let two = MockServer::start().await.unwrap();
    assert_ne!(one.url(), two.url());
    client()
        .post(format!("{}/v1/chat/completions", one.url()))
        .json(&chat_body("m"))
        .send()
        .await
        .unwrap();
    assert_eq!(one.counters().total, 1);
    assert_eq!(two.counters().total, 0);
    let url = one.url();
    drop(one);
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    assert!(
        client()
            .get(format!("{url}/_mock/health"))
            .send()
            .await
            .is_err(),
        "stopped on drop"
    );
}

#[tokio::test]
async fn control_api_creates_queries_and_deletes_sessions() {
    let mock = MockServer::start().await.unwrap();
    let c = client();
    let created = c
        .post(format!("{}/_mock/sessions", mock.url()))
        .body("models:\n  m:\n    - content: yaml session\n")
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let id = created.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let json_created: Value = c
        .post(format!("{}/_mock/sessions", mock.url()))
        .json(&serde_json::json!({"models": {"m": [{"content": "json session"}]}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_ne!(json_created["id"].as_str().unwrap(), id);

    let v: Value = c
        .post(format!("{}/s/{id}/v1/chat/completions", mock.url()))
        .json(&chat_body("m"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["choices"][0]["message"]["content"], "yaml session");

    let counters: Value = c
        .get(format!("{}/_mock/sessions/{id}/counters", mock.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(counters["total"], 1);
    assert_eq!(counters["models"]["m"], 1);
    let requests: Value = c
        .get(format!("{}/_mock/sessions/{id}/requests", mock.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(requests[0]["body"]["model"], "m");

    let bad = c
        .post(format!("{}/_mock/sessions", mock.url()))
        .body("models: [oops")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);

    let del = c
        .delete(format!("{}/_mock/sessions/{id}", mock.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(del.status(), 200);
    let gone = c
        .post(format!("{}/s/{id}/v1/chat/completions", mock.url()))
        .json(&chat_body("m"))
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), 404);
    let unknown = c
        .get(format!("{}/s/nope/v1/models", mock.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
}

#[tokio::test]
async fn put_script_replaces_the_default_script() {
    let mock = MockServer::start().await.unwrap();
    let c = client();
    let r = c
        .put(format!("{}/_mock/script", mock.url()))
        .body("models: { m: [ { status: 418 } ] }")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = c
        .post(format!("{}/v1/chat/completions", mock.url()))
        .json(&chat_body("m"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 418);
    mock.set_script(Script::default());
    let r = c
        .post(format!("{}/v1/chat/completions", mock.url()))
        .json(&chat_body("m"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let health: Value = c
        .get(format!("{}/_mock/health", mock.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["status"], "ok");
}

#[tokio::test]
async fn binary_prints_its_url_writes_the_port_file_and_stops_on_sigterm() {
    let dir = std::env::temp_dir().join(format!("switchyard-mock-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let script_path = dir.join("script.yaml");
    let port_path = dir.join("port");
    std::fs::write(&script_path, "models: { m: [ { content: from file } ] }").unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_switchyard-mock"))
        .args(["--addr", "127.0.0.1:0", "--script"])
        .arg(&script_path)
        .arg("--port-file")
        .arg(&port_path)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap()
        .to_owned();
    let port = std::fs::read_to_string(&port_path).unwrap();
    assert_eq!(url, format!("http://127.0.0.1:{port}"));

    let v: Value = client()
        .post(format!("{url}/v1/chat/completions"))
        .json(&chat_body("m"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["choices"][0]["message"]["content"], "from file");

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    assert!(status.success(), "clean exit on SIGTERM: {status:?}");
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn binary_refuses_non_loopback_addresses() {
    let status = Command::new(env!("CARGO_BIN_EXE_switchyard-mock"))
        .args(["--addr", "0.0.0.0:0"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(!status.success());
}

#[tokio::test]
async fn a_mock_on_its_own_thread_answers_and_stops_when_dropped() {
    let mock =
        MockServer::start_on_own_thread(script("models: { m: [ { content: own } ] }")).unwrap();
    let url = mock.url();
    let resp = client()
        .post(format!("{url}/v1/chat/completions"))
        .json(&chat_body("m"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(mock.counters().total, 1);
    drop(mock);
    let mut refused = false;
    for _ in 0..50 {
        let sent = reqwest::Client::new()
            .post(format!("{url}/v1/chat/completions"))
            .json(&chat_body("m"))
            .send()
            .await;
        if sent.is_err() {
            refused = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(
        refused,
        "the mock still answers after its handle was dropped"
    );
}

#[tokio::test]
async fn usage_batches_are_kept_per_session_and_not_counted_as_calls() {
    use std::io::Write;

    let mock = MockServer::start().await.unwrap();
    let a = mock.session(script("models: {}"));
    let b = mock.session(script("models: {}"));
    let batch = r#"{"dropped":0,"events":[{"id":"e1","model":"chat"},{"id":"e2","model":"chat"}]}"#;
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gzip.write_all(batch.as_bytes()).unwrap();
    let body = gzip.finish().unwrap();
    let ack: Value = client()
        .post(format!("{}/sdk/v1/usage", a.url()))
        .header("content-encoding", "gzip")
        .body(body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ack["accepted"], 2);
    let plain = client()
        .post(format!("{}/sdk/v1/usage", a.url()))
        .body("not json")
        .send()
        .await
        .unwrap();
    assert_eq!(plain.status().as_u16(), 400);

    let kept = a.usage();
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].raw, batch);
    assert_eq!(kept[0].events[1]["id"], "e2");
    assert!(b.usage().is_empty());
    assert_eq!(a.counters().total, 0);
    let listed: Value = client()
        .get(format!("{}/_mock/sessions/{}/usage", mock.url(), a.id()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed[0]["events"][0]["id"], "e1");
    assert_eq!(listed[0]["raw"], batch);
}
