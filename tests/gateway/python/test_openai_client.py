"""The official `openai` package, unchanged, pointed at the gateway with only `base_url` and
an app key: chat, streaming, tools, embeddings, models, and an error of each class raised
as the package's own exception with the status and body the gateway sent."""

from __future__ import annotations

import json
from typing import Any, Dict

import openai
import pytest
from openai import OpenAI

MESSAGES: Any = [{"role": "user", "content": "hi"}]


def client(gateway: Dict[str, Any], key: str = "") -> OpenAI:
    # No retries: an error must reach the test as the gateway sent it.
    return OpenAI(base_url=f"{gateway['url']}/v1", api_key=key or gateway["key"], max_retries=0)


def test_chat(gateway: Dict[str, Any]) -> None:
    raw = client(gateway).chat.completions.with_raw_response.create(model="chat", messages=MESSAGES)
    completion = raw.parse()
    assert completion.choices[0].message.content == "Hello there"
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None and completion.usage.total_tokens > 0
    assert raw.headers["x-switchyard-deployment"] == "mock/gpt-4o-mini"
    assert raw.headers["x-switchyard-cache"] == "miss"
    assert float(raw.headers["x-switchyard-cost-usd"]) > 0
    assert completion._request_id is not None and completion._request_id.startswith("req_")


def test_streaming(gateway: Dict[str, Any]) -> None:
    stream = client(gateway).chat.completions.create(
        model="chat", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Hello there"
    assert chunks[-1].usage is not None and chunks[-1].usage.total_tokens > 0


def test_tools(gateway: Dict[str, Any]) -> None:
    tools: Any = [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
            },
        }
    ]
    completion = client(gateway).chat.completions.create(model="tooly", messages=MESSAGES, tools=tools)
    call = completion.choices[0].message.tool_calls[0]  # type: ignore[index]
    assert call.function.name == "get_weather"  # type: ignore[union-attr]
    assert json.loads(call.function.arguments) == {"city": "Paris"}  # type: ignore[union-attr]
    assert completion.choices[0].finish_reason == "tool_calls"

    # Streamed, the argument pieces add up.
    stream = client(gateway).chat.completions.create(model="tooly", messages=MESSAGES, tools=tools, stream=True)
    args = "".join(
        (c.choices[0].delta.tool_calls or [None])[0].function.arguments or ""  # type: ignore[union-attr]
        for c in stream
        if c.choices and c.choices[0].delta.tool_calls
    )
    assert json.loads(args) == {"city": "Paris"}


def test_embeddings(gateway: Dict[str, Any]) -> None:
    result = client(gateway).embeddings.create(model="embed", input=["a", "b"], dimensions=4)
    assert [len(d.embedding) for d in result.data] == [4, 4]
    # The package asks for base64 by default and decodes it itself.
    assert abs(sum(x * x for x in result.data[0].embedding) - 1.0) < 1e-3


def test_models(gateway: Dict[str, Any]) -> None:
    ids = [m.id for m in client(gateway).models.list()]
    assert "chat" in ids and "embed" in ids
    assert client(gateway).models.retrieve("chat").id == "chat"
    limited = [m.id for m in client(gateway, gateway["limited_key"]).models.list()]
    assert limited == ["chat"]


@pytest.mark.parametrize(
    "model, error, status, code",
    [
        ("ctx", openai.BadRequestError, 400, "context_length_exceeded"),
        ("no-such-model", openai.NotFoundError, 404, "model_not_found"),
        ("rl", openai.RateLimitError, 429, "rate_limit_exceeded"),
        ("pricey", openai.RateLimitError, 429, "insufficient_quota"),
        ("boom", openai.InternalServerError, 502, "upstream"),
        ("hang", openai.InternalServerError, 504, "timeout"),
    ],
)
def test_errors(gateway: Dict[str, Any], model: str, error: type, status: int, code: str) -> None:
    with pytest.raises(error) as raised:
        client(gateway).chat.completions.create(model=model, messages=MESSAGES)
    assert raised.value.status_code == status  # type: ignore[attr-defined]
    assert raised.value.code == code  # type: ignore[attr-defined]
    assert raised.value.request_id and raised.value.request_id.startswith("req_")  # type: ignore[attr-defined]
    if model == "rl":
        assert raised.value.response.headers["retry-after"] == "7"  # type: ignore[attr-defined]


def test_a_wrong_key_and_a_model_the_app_may_not_use(gateway: Dict[str, Any]) -> None:
    with pytest.raises(openai.AuthenticationError) as raised:
        client(gateway, "sy_not_a_key").models.list()
    assert raised.value.code == "invalid_api_key"
    with pytest.raises(openai.NotFoundError):
        client(gateway, gateway["limited_key"]).embeddings.create(model="embed", input="x")


def test_a_stream_that_breaks_raises(gateway: Dict[str, Any]) -> None:
    stream = client(gateway).chat.completions.create(model="cut", messages=MESSAGES, stream=True)
    said = []
    with pytest.raises(openai.APIError) as raised:
        for chunk in stream:
            said.append(chunk.choices[0].delta.content or "" if chunk.choices else "")
    assert "".join(said) == "one "
    assert raised.value.code == "network"


def test_per_call_options_in_a_header(gateway: Dict[str, Any]) -> None:
    options = {"deployment": "mock/gpt-4o-mini", "cache": "bypass", "user": "u-42"}
    raw = client(gateway).chat.completions.with_raw_response.create(
        model="chat", messages=MESSAGES, extra_headers={"x-switchyard-options": json.dumps(options)}
    )
    assert raw.parse().choices[0].message.content == "Hello there"
    assert raw.headers["x-switchyard-deployment"] == "mock/gpt-4o-mini"
    with pytest.raises(openai.BadRequestError) as refused:
        client(gateway).chat.completions.create(
            model="chat", messages=MESSAGES, extra_headers={"x-switchyard-options": '{"tenant": "globex"}'}
        )
    assert refused.value.status_code == 400
    assert isinstance(refused.value.body, dict) and refused.value.body["param"] == "x-switchyard-options"
