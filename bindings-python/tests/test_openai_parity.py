"""Drop-in parity with the official ``openai`` package: typical snippets written for it run
unchanged against Switchyard (only the client differs), and every ``model_dump()`` carries
the keys the ``openai`` models carry for the same answer.

Each snippet runs twice on a fresh mock session with the same script: once with
``openai.OpenAI`` talking to the mock directly, once with ``switchyard.Switchyard`` routing
to it (the alias is the upstream model's name, so the snippet's code is the same).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any, Callable, Dict, List, Optional, Tuple

import pytest

import switchyard

from conftest import Mock

openai = pytest.importorskip("openai")

MODEL = "gpt-4o-mini"
EMBED = "text-embedding-3-small"
HI = [{"role": "user", "content": "hi"}]
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        },
    }
]

Snippet = Callable[[Any, Any], Any]


def switchyard_config(url: str) -> Dict[str, Any]:
    return {
        "version": 1,
        "providers": {"oa": {"kind": "openai", "base_url": f"{url}/v1"}},
        "models": {
            MODEL: {"deployments": [{"provider": "oa", "model": MODEL}]},
            EMBED: {"type": "embedding", "deployments": [{"provider": "oa", "model": EMBED}]},
        },
    }


def both(mock: Mock, script: Dict[str, Any], snippet: Snippet, *, is_async: bool = False) -> Tuple[Any, Any]:
    """The snippet's result with the official package, then with Switchyard."""
    results = []
    for sdk in (openai, switchyard):
        session = mock.session(script)
        client: Any
        if sdk is openai:
            cls = openai.AsyncOpenAI if is_async else openai.OpenAI
            client = cls(base_url=f"{session.url}/v1", api_key="sk-test")
        else:
            cls = switchyard.AsyncSwitchyard if is_async else switchyard.Switchyard
            client = cls(config=switchyard_config(session.url))
        if is_async:
            results.append(asyncio.run(snippet(sdk, client)))
        else:
            results.append(snippet(sdk, client))
            client.close()
    return results[0], results[1]


def missing_keys(theirs: Any, ours: Any, at: str = "") -> List[str]:
    """Keys the ``openai`` dump has that ours lacks, recursively where both hold objects."""
    out: List[str] = []
    if isinstance(theirs, dict) and isinstance(ours, dict):
        for key, value in theirs.items():
            if key not in ours:
                out.append(f"{at}.{key}")
            else:
                out += missing_keys(value, ours[key], f"{at}.{key}")
    elif isinstance(theirs, list) and isinstance(ours, list):
        for i, (a, b) in enumerate(zip(theirs, ours)):
            out += missing_keys(a, b, f"{at}[{i}]")
    return out


def assert_same_keys(theirs: Any, ours: Any) -> None:
    assert missing_keys(theirs, ours) == []
    # What we add beyond OpenAI's keys is Switchyard's call info alone.
    assert [k for k in missing_keys(ours, theirs) if not k.startswith(".switchyard")] == []


def reply(content: str = "Hello there!", **extra: Any) -> Dict[str, Any]:
    step = {"content": content, "usage": {"prompt_tokens": 10, "completion_tokens": 3}, **extra}
    return {"models": {MODEL: [step]}}


# ---------------------------------------------------------------- snippets


def sync_chat(sdk: Any, client: Any) -> Any:
    completion = client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}],
        temperature=0.2,
    )
    print(completion.choices[0].message.content)
    assert completion.usage.total_tokens == 13
    return completion.model_dump()


async def async_chat(sdk: Any, client: Any) -> Any:
    completion = await client.chat.completions.create(model=MODEL, messages=HI)
    assert completion.choices[0].message.content == "Hello there!"
    await client.close()
    return completion.model_dump()


def stream_iter(sdk: Any, client: Any) -> Any:
    stream = client.chat.completions.create(
        model=MODEL, messages=HI, stream=True, stream_options={"include_usage": True}
    )
    text, dumps = "", []
    for chunk in stream:
        dumps.append(chunk.model_dump())
        if chunk.choices and chunk.choices[0].delta.content:
            text += chunk.choices[0].delta.content
    return text, dumps


def stream_with(sdk: Any, client: Any) -> Any:
    text = ""
    with client.chat.completions.create(model=MODEL, messages=HI, stream=True) as stream:
        for chunk in stream:
            if chunk.choices:
                text += chunk.choices[0].delta.content or ""
    return text


async def async_stream(sdk: Any, client: Any) -> Any:
    text, dumps = "", []
    stream = await client.chat.completions.create(model=MODEL, messages=HI, stream=True)
    async with stream:
        async for chunk in stream:
            dumps.append(chunk.model_dump())
            if chunk.choices:
                text += chunk.choices[0].delta.content or ""
    await client.close()
    return text, dumps


def tools(sdk: Any, client: Any) -> Any:
    completion = client.chat.completions.create(model=MODEL, messages=HI, tools=TOOLS, tool_choice="auto")
    message = completion.choices[0].message
    assert completion.choices[0].finish_reason == "tool_calls"
    call = message.tool_calls[0]
    return call.function.name, json.loads(call.function.arguments), completion.model_dump()


def embeddings(sdk: Any, client: Any) -> Any:
    response = client.embeddings.create(model=EMBED, input=["a", "b"])
    assert len(response.data) == 2 and len(response.data[0].embedding) > 0
    return response.model_dump()


def caught(sdk: Any, client: Any) -> Any:
    """The error handling of an ``openai`` program: which names catch the error."""
    try:
        client.with_options(max_retries=0).chat.completions.create(model=MODEL, messages=HI)
    except sdk.APIConnectionError as e:
        timeout = isinstance(e, sdk.APITimeoutError)
        return ("connection", timeout, isinstance(e, sdk.APIError))
    except sdk.RateLimitError as e:
        return ("rate_limit", e.status_code, isinstance(e, sdk.APIStatusError))
    except sdk.AuthenticationError as e:
        return ("auth", e.status_code)
    except sdk.PermissionDeniedError as e:
        return ("permission", e.status_code)
    except sdk.NotFoundError as e:
        return ("not_found", e.status_code)
    except sdk.BadRequestError as e:
        return ("bad_request", e.status_code)
    except sdk.UnprocessableEntityError as e:
        return ("unprocessable", e.status_code)
    except sdk.ConflictError as e:
        return ("conflict", e.status_code)
    except sdk.InternalServerError as e:
        return ("server", e.status_code, isinstance(e, sdk.APIStatusError))
    except sdk.APIStatusError as e:
        return ("status", e.status_code)
    except sdk.APIError as e:
        return ("api", e.message)
    return None


def timed_out(sdk: Any, client: Any) -> Any:
    fast = client.with_options(timeout=0.3, max_retries=0)
    try:
        fast.chat.completions.create(model=MODEL, messages=HI)
    except sdk.APITimeoutError as e:
        return ("timeout", isinstance(e, sdk.APIConnectionError))
    return None


async def async_caught(sdk: Any, client: Any) -> Any:
    try:
        await client.with_options(max_retries=0).chat.completions.create(model=MODEL, messages=HI)
    except sdk.RateLimitError as e:
        return ("rate_limit", e.status_code)
    finally:
        await client.close()
    return None


# ---------------------------------------------------------------- tests


def test_sync_chat(mock: Mock) -> None:
    theirs, ours = both(mock, reply(), sync_chat)
    assert ours["choices"][0]["message"]["content"] == theirs["choices"][0]["message"]["content"]
    assert_same_keys(theirs, ours)


def test_async_chat(mock: Mock) -> None:
    theirs, ours = both(mock, reply(), async_chat, is_async=True)
    assert_same_keys(theirs, ours)


def test_streaming_as_iterator_and_context_manager(mock: Mock) -> None:
    script = reply(chunks=["Hel", "lo ", "there!"])
    (their_text, their_chunks), (our_text, our_chunks) = both(mock, script, stream_iter)
    assert our_text == their_text == "Hello there!"
    assert len(our_chunks) == len(their_chunks)
    for theirs, ours in zip(their_chunks, our_chunks):
        assert_same_keys(theirs, ours)
    assert both(mock, script, stream_with) == ("Hello there!", "Hello there!")


def test_async_streaming(mock: Mock) -> None:
    (their_text, their_chunks), (our_text, our_chunks) = both(
        mock, reply(chunks=["Hel", "lo"]), async_stream, is_async=True
    )
    assert our_text == their_text == "Hello"
    assert missing_keys(their_chunks[0], our_chunks[0]) == []


def test_tools(mock: Mock) -> None:
    script = {"models": {MODEL: [{"tool_calls": [{"name": "get_weather", "arguments": {"city": "Oslo"}}]}]}}
    theirs, ours = both(mock, script, tools)
    assert ours[:2] == theirs[:2] == ("get_weather", {"city": "Oslo"})
    assert_same_keys(theirs[2], ours[2])


def test_embeddings(mock: Mock) -> None:
    theirs, ours = both(mock, {}, embeddings)
    assert_same_keys(theirs, ours)


@pytest.mark.parametrize(
    "step, expected",
    [
        ({"status": 429}, ("rate_limit", 429, True)),
        ({"status": 401}, ("auth", 401)),
        ({"status": 403}, ("permission", 403)),
        ({"status": 404}, ("not_found", 404)),
        ({"status": 400}, ("bad_request", 400)),
        ({"status": 400, "error_type": "context_length_exceeded"}, ("bad_request", 400)),
        ({"status": 422}, ("unprocessable", 422)),
        ({"status": 409}, ("conflict", 409)),
        ({"status": 500}, ("server", 500, True)),
        ({"status": 503}, ("server", 503, True)),
        ({"fault": "reset"}, ("connection", False, True)),
    ],
)
def test_errors_caught_by_openai_names(mock: Mock, step: Dict[str, Any], expected: Tuple[Any, ...]) -> None:
    theirs, ours = both(mock, {"models": {MODEL: [step]}}, caught)
    assert theirs == expected, "the official package's own behaviour changed"
    assert ours == expected


def test_with_options_timeout(mock: Mock) -> None:
    theirs, ours = both(mock, reply(latency_ms=3000), timed_out)
    assert theirs == ours == ("timeout", True)


def test_with_options_async_and_copy_semantics(mock: Mock) -> None:
    theirs, ours = both(mock, {"models": {MODEL: [{"status": 429, "times": 5}]}}, async_caught, is_async=True)
    assert theirs == ours == ("rate_limit", 429)
    session = mock.session({"models": {MODEL: [{"status": 503, "times": 2}, {"content": "ok"}]}})
    with switchyard.Switchyard(config=switchyard_config(session.url)) as client:
        capped = client.with_options(max_retries=0)
        assert capped is not client and capped.with_options(timeout=5)._defaults == {"max_retries": 0, "timeout": 5}
        with pytest.raises(switchyard.InternalServerError):
            capped.chat.completions.create(model=MODEL, messages=HI)
        assert session.counters()["total"] == 1
        # The original keeps the config's retries (3 attempts): the third answers.
        assert client.chat.completions.create(model=MODEL, messages=HI).choices[0].message.content == "ok"
        assert session.counters()["total"] == 3


def test_status_error_attributes() -> None:
    error = switchyard._errors._from_native(
        {
            "kind": "rate_limited", "message": "slow down", "display": "rate_limited: slow down",
            "field": None, "provider": "oa", "deployment": "oa/x", "request_id": "req_1",
            "retry_after": 1.0, "status": None, "retryable": True, "budget": None,
            "http_status": None,
        }
    )
    assert isinstance(error, switchyard.APIStatusError) and isinstance(error, switchyard.APIError)
    assert error.status_code == 429 and error.request_id == "req_1" and error.message == "slow down"
    assert error.body == {"message": "slow down", "type": "rate_limited", "param": None, "code": "rate_limited"}
    assert error.response is None and error.code == "rate_limited"
    opt: Optional[int] = error.status
    assert opt is None


def test_budget_unavailable_is_a_503_naming_its_budget() -> None:
    error = switchyard._errors._from_native(
        {
            "kind": "budget_unavailable", "message": "lease expired",
            "display": "budget_unavailable (team): lease expired", "field": None, "provider": None,
            "deployment": None, "request_id": None, "retry_after": None, "status": None,
            "retryable": True, "budget": "team", "http_status": None,
        }
    )
    assert isinstance(error, switchyard.BudgetUnavailableError)
    assert isinstance(error, switchyard.InternalServerError)
    assert error.status_code == 503 and error.budget == "team" and error.retryable


def test_policy_violation_is_a_400_naming_its_rule() -> None:
    error = switchyard._errors._from_native(
        {
            "kind": "policy_violation", "message": "the request matches the guardrail 'topic:legal'",
            "display": "policy_violation (topic:legal): the request matches the guardrail 'topic:legal'",
            "field": None, "provider": None, "deployment": None, "request_id": None,
            "retry_after": None, "status": None, "retryable": False, "budget": None,
            "http_status": None, "rule": "topic:legal",
        }
    )
    assert isinstance(error, switchyard.PolicyViolationError)
    assert isinstance(error, switchyard.BadRequestError)
    assert error.status_code == 400 and error.rule == "topic:legal" and not error.retryable
