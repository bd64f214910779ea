//! The calls the export tests trace: one chat that succeeds, one the upstream refuses.

use switchyard::config::Config;
use switchyard::types::{ChatRequest, Message};
use switchyard::{CallOptions, Client};
use switchyard_mock_provider::{MockServer, Script};

/// Against a mock: `chat` (upstream `gpt-4o-mini`) answers "traced"; `bad` gets a 400.
pub async fn one_answer_one_refusal() {
    let mock = MockServer::start_with(
        Script::from_yaml(
            "models: { gpt-4o-mini: [ { content: traced } ], broken: [ { status: 400 } ] }",
        )
        .unwrap(),
    )
    .await
    .unwrap();
    let config = Config::from_yaml(&format!(
        "version: 1\nproviders: {{ oa: {{ kind: openai, base_url: \"{}/v1\" }} }}\n\
         models:\n  chat: {{ deployments: [{{ provider: oa, model: gpt-4o-mini }}] }}\n  \
         bad: {{ deployments: [{{ provider: oa, model: broken }}] }}\n",
        mock.url()
    ))
    .unwrap();
    let client = Client::builder().config(config).build().unwrap();
    let request = ChatRequest::new("chat", vec![Message::user("hi")]);
    let answer = client.chat(request, &CallOptions::default()).await.unwrap();
    assert_eq!(answer.response.text(), "traced");
    let refused = ChatRequest::new("bad", vec![Message::user("hi")]);
    let error = client
        .chat(refused, &CallOptions::default())
        .await
        .unwrap_err();
    assert_eq!(error.code(), "bad_request");
}
