//! Vertex AI's access token, which a scenario file cannot pin down: many concurrent calls
//! on a cold client trade the service-account JWT once, from a key file on disk.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use switchyard::config::Config;
use switchyard::types::{ChatRequest, Message};
use switchyard::{CallOptions, Client};
use switchyard_mock_provider::{MockServer, Script};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_calls_share_one_token_exchange() {
    let mock = MockServer::start_with(Script::from_yaml("models: { '*': [ {} ] }").unwrap())
        .await
        .unwrap();
    let key = serde_json::json!({
        "type": "service_account",
        "client_email": "switchyard-test@test-project.iam.gserviceaccount.com",
        "private_key": include_str!("../../tests/conformance/fixtures/vertex-test-key.pem"),
        "token_uri": format!("{}/token", mock.url()),
    });
    let path =
        std::env::temp_dir().join(format!("switchyard-vertex-key-{}.json", std::process::id()));
    std::fs::write(&path, key.to_string()).unwrap();
    let yaml = format!(
        "version: 1\nproviders: {{ vx: {{ kind: vertex, base_url: \"{}/v1\", project: p, location: us-east5, credentials_file: \"{}\" }} }}\n\
         models: {{ flash: {{ deployments: [{{ provider: vx, model: gemini-2.5-flash }}], retry: {{ max_attempts: 1 }} }} }}\n",
        mock.url(),
        path.display()
    );
    let client = Client::builder()
        .config(Config::from_yaml(&yaml).unwrap())
        .build()
        .unwrap();
    let calls = (0..16).map(|_| {
        let client = client.clone();
        tokio::spawn(async move {
            let request = ChatRequest::new("flash", vec![Message::user("hi")]);
            client.chat(request, &CallOptions::default()).await
        })
    });
    for call in futures_util::future::join_all(calls).await {
        call.unwrap().unwrap();
    }
    let requests = mock.requests();
    let tokens = requests.iter().filter(|r| r.path == "/token").count();
    assert_eq!(tokens, 1, "one token exchange for 16 cold concurrent calls");
    assert_eq!(requests.len(), 17);
    let _ = std::fs::remove_file(&path);
}
