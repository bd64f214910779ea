"""The Python SDK's own behaviour: shape, errors, threads, GIL, fork, cancellation, streams."""

from __future__ import annotations

import asyncio
import gc
import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time
from typing import Any, Dict, List

import pytest

import switchyard
from switchyard import AsyncSwitchyard, Switchyard

from conftest import ROOT, Mock

HI = [{"role": "user", "content": "hi"}]


def test_chat_shape_matches_openai(mock: Mock) -> None:
    s = mock.session({"models": {"gpt-4o-mini": [{"content": "Hello there!", "usage": {"prompt_tokens": 10, "completion_tokens": 3}}]}})
    with Switchyard(config=s.openai_config()) as client:
        r = client.chat.completions.create(model="chat", messages=HI)
    assert r.choices[0].message.content == "Hello there!"
    assert r.choices[0].message.role == "assistant"
    assert r.choices[0].message.tool_calls is None
    assert r.choices[0].finish_reason == "stop"
    assert r.usage.total_tokens == 13
    assert r.object == "chat.completion"
    assert r.switchyard.deployment == "oa/gpt-4o-mini"
    assert r.switchyard.model == "chat"
    assert r.switchyard.cost_usd > 0
    assert r.switchyard.attempts == 1
    d = r.to_dict()
    assert d["choices"][0]["message"]["content"] == "Hello there!"
    d["choices"][0]["message"]["content"] = "changed"
    assert r.choices[0].message.content == "Hello there!"  # to_dict is a copy
    assert isinstance(r, switchyard.types.ChatCompletion)
    assert "Hello there!" in repr(r)


def test_config_from_file_and_env(mock: Mock, tmp_path: Any, monkeypatch: Any) -> None:
    import json

    s = mock.session()
    path = tmp_path / "switchyard.yaml"
    path.write_text(json.dumps(s.openai_config()))
    with Switchyard(config=path) as client:
        assert [m.id for m in client.models.list()] == ["chat", "embed"]
        assert client.config()["version"] == 1
    monkeypatch.setenv("SWITCHYARD_CONFIG", str(path))
    with Switchyard() as client:
        assert len(client.models.list()) == 2


def test_streaming_and_embeddings(mock: Mock) -> None:
    s = mock.session({"models": {"gpt-4o-mini": [{"content": "one two three"}]}})
    with Switchyard(config=s.openai_config()) as client:
        stream = client.chat.completions.create(model="chat", messages=HI, stream=True)
        text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
        assert text == "one two three"
        assert stream.switchyard.deployment == "oa/gpt-4o-mini"
        e = client.embeddings.create(model="embed", input=["a", "b"], dimensions=4)
        assert len(e.data) == 2 and len(e.data[0].embedding) == 4
        assert e.usage.prompt_tokens >= 0


def test_metrics_reload_close(mock: Mock) -> None:
    s1 = mock.session({"models": {"*": [{"content": "first"}]}})
    s2 = mock.session({"models": {"*": [{"content": "second"}]}})
    client = Switchyard(config=s1.openai_config())
    assert client.chat.completions.create(model="chat", messages=HI).choices[0].message.content == "first"
    client.reload(s2.openai_config())
    assert client.chat.completions.create(model="chat", messages=HI).choices[0].message.content == "second"
    with pytest.raises(switchyard.ConfigError) as info:
        client.reload({"version": 2})
    assert info.value.field == "version"
    assert client.chat.completions.create(model="chat", messages=HI).choices[0].message.content == "second"
    assert sum(d["calls"] for d in client.metrics()["deployments"]) == 3
    client.close()
    assert client.closed
    with pytest.raises(switchyard.SwitchyardError):
        client.chat.completions.create(model="chat", messages=HI)


def test_cache_hit_and_options(mock: Mock) -> None:
    s = mock.session({"models": {"*": [{"content": "cached"}]}})
    with Switchyard(config=s.openai_config()) as client:
        first = client.chat.completions.create(model="chat", messages=HI, temperature=0)
        second = client.chat.completions.create(model="chat", messages=HI, temperature=0)
        bypass = client.chat.completions.create(model="chat", messages=HI, temperature=0, cache="bypass")
        assert (first.switchyard.cache_hit, second.switchyard.cache_hit, bypass.switchyard.cache_hit) == (False, True, False)
        assert second.switchyard.cost_usd == 0
        r = client.chat.completions.create(
            model="chat", messages=HI, timeout=5, end_user="u1", tags=["t"], metadata={"k": "v"},
            tenant="acme", app="web", session="s1", deployment="oa/gpt-4o-mini",
        )
        assert r.choices[0].message.content == "cached"
        with pytest.raises(TypeError):
            client.chat.completions.create(model="chat", messages=HI, tags="not-a-list")
        with pytest.raises(ValueError):
            client.chat.completions.create(model="chat", messages=HI, cache="sometimes")
    assert s.counters()["total"] == 3


# ---------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "step, cls, code, status",
    [
        ({"status": 429, "retry_after": "7"}, switchyard.RateLimitError, "rate_limited", 429),
        ({"status": 400, "error_type": "context_length_exceeded"}, switchyard.ContextWindowExceededError, "context_window_exceeded", None),
        ({"status": 400, "error_type": "content_filter"}, switchyard.ContentPolicyError, "content_policy", None),
        ({"status": 401}, switchyard.AuthenticationError, "auth", None),
        ({"status": 404}, switchyard.UpstreamError, "upstream", 404),
        ({"fault": "reset"}, switchyard.NetworkError, "network", None),
    ],
)
def test_error_types(mock: Mock, step: Dict[str, Any], cls: type, code: str, status: Any) -> None:
    s = mock.session({"models": {"*": [step]}})
    config = s.openai_config(retry={"max_attempts": 1})
    with Switchyard(config=config) as client:
        with pytest.raises(cls) as info:
            client.chat.completions.create(model="chat", messages=HI)
    error = info.value
    assert isinstance(error, switchyard.SwitchyardError)
    assert error.code == code
    assert error.status == status
    assert error.deployment in (None, "oa/gpt-4o-mini")
    if code == "rate_limited":
        assert error.retry_after == 7.0
        assert error.retryable


def test_timeout_error_is_builtin_timeout(mock: Mock) -> None:
    s = mock.session({"models": {"*": [{"fault": "hang"}]}})
    with Switchyard(config=s.openai_config()) as client:
        started = time.monotonic()
        with pytest.raises(TimeoutError) as info:  # the builtin catches ours
            client.chat.completions.create(model="chat", messages=HI, timeout=0.3)
        assert time.monotonic() - started < 3
    assert isinstance(info.value, switchyard.TimeoutError)
    assert info.value.code == "timeout"


def test_bad_request_names_the_field(mock: Mock) -> None:
    s = mock.session()
    with Switchyard(config=s.openai_config()) as client:
        cases = [
            ({"messages": [{"role": "wizard", "content": "x"}]}, "messages[0].role"),
            ({"messages": HI, "temperature": "hot"}, "temperature"),
            ({"messages": HI, "temperature": 3.5}, "temperature"),
            ({"messages": []}, "messages"),
            ({"messages": HI, "max_tokens": float("nan")}, "max_tokens"),
            ({"messages": [{"role": "user", "content": object()}]}, "messages[0].content"),
        ]
        for kwargs, field in cases:
            with pytest.raises(switchyard.BadRequestError) as info:
                client.chat.completions.create(model="chat", **kwargs)
            assert info.value.field == field, kwargs
            assert info.value.code == "bad_request"
    assert s.counters()["total"] == 0  # nothing was sent


def test_an_invalid_config_is_a_config_error() -> None:
    with pytest.raises(switchyard.ConfigError):
        Switchyard(config={"version": 1, "models": {"m": {"deployments": [{"provider": "nope", "model": "x"}]}}})


def test_panics_become_typed_errors() -> None:
    with pytest.raises(switchyard.InternalError) as info:
        switchyard._native._panic_for_test()
    assert "panic" in str(info.value)
    got: List[Any] = []
    done = threading.Event()
    switchyard._native._panic_for_test(True, lambda ok, value: (got.append((ok, value)), done.set()))
    assert done.wait(5)
    ok, value = got[0]
    assert not ok and isinstance(value, switchyard.InternalError)


# ---------------------------------------------------------------- threads, GIL, signals


def test_gil_released_during_a_slow_call(mock: Mock) -> None:
    s = mock.session({"models": {"*": [{"latency_ms": 600}]}})
    ticks = 0
    stop = threading.Event()

    def spin() -> None:
        nonlocal ticks
        while not stop.is_set():
            ticks += 1
            time.sleep(0.001)

    with Switchyard(config=s.openai_config()) as client:
        spinner = threading.Thread(target=spin)
        spinner.start()
        try:
            client.chat.completions.create(model="chat", messages=HI)
        finally:
            stop.set()
            spinner.join()
    # 600 ms at ~1 tick/ms: a held GIL would give ~0.
    assert ticks > 100, ticks


def test_threads_share_one_client(mock: Mock) -> None:
    s = mock.session({"models": {"*": [{"latency_ms": 5}]}})
    errors: List[BaseException] = []
    with Switchyard(config=s.openai_config()) as client:

        def work() -> None:
            try:
                for _ in range(10):
                    r = client.chat.completions.create(model="chat", messages=HI)
                    assert r.choices[0].message.content
                    for _c in client.chat.completions.create(model="chat", messages=HI, stream=True):
                        pass
            except BaseException as exc:  # noqa: BLE001
                errors.append(exc)

        threads = [threading.Thread(target=work) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert not errors, errors
    assert s.counters()["total"] == 160


def test_ctrl_c_interrupts_a_blocking_call(mock: Mock) -> None:
    s = mock.session({"models": {"*": [{"fault": "hang"}]}})
    code = (
        "import signal, sys, time, switchyard\n"
        # A runner started in the background without job control passes SIGINT on ignored,
        # and Python then installs no handler of its own: restore it.
        "signal.signal(signal.SIGINT, signal.default_int_handler)\n"
        f"c = switchyard.Switchyard(config={s.openai_config()!r})\n"
        "print('ready', flush=True)\n"
        "t = time.monotonic()\n"
        "try:\n"
        "    c.chat.completions.create(model='chat', messages=[{'role': 'user', 'content': 'hi'}])\n"
        "except KeyboardInterrupt:\n"
        "    print('interrupted after %.2f' % (time.monotonic() - t), flush=True)\n"
        "    sys.exit(0)\n"
        "sys.exit(3)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=10)
    assert proc.returncode == 0, out
    assert "interrupted" in out


# ---------------------------------------------------------------- fork


def _child_call(client: Switchyard, queue: Any) -> None:
    try:
        r = client.chat.completions.create(model="chat", messages=HI, cache="bypass")
        fresh = Switchyard(config=client.config())
        r2 = fresh.chat.completions.create(model="chat", messages=HI, cache="bypass")
        queue.put(("ok", r.choices[0].message.content, r2.choices[0].message.content))
    except BaseException as exc:  # noqa: BLE001
        queue.put(("error", repr(exc), None))


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_fork_rebuilds_the_runtime_in_the_child(mock: Mock) -> None:
    s = mock.session({"models": {"*": [{"content": "from the mock"}]}})
    ctx = multiprocessing.get_context("fork")
    with Switchyard(config=s.openai_config()) as client:
        # The parent's runtime and connection pool are live before the fork.
        assert client.chat.completions.create(model="chat", messages=HI).choices[0].message.content == "from the mock"
        queue = ctx.Queue()
        children = [ctx.Process(target=_child_call, args=(client, queue)) for _ in range(3)]
        for child in children:
            child.start()
        results = [queue.get(timeout=30) for _ in children]
        for child in children:
            child.join(timeout=30)
            assert child.exitcode == 0
        # ...and still work in the parent afterwards.
        assert client.chat.completions.create(model="chat", messages=HI).choices[0].message.content == "from the mock"
    assert results == [("ok", "from the mock", "from the mock")] * 3, results


# ---------------------------------------------------------------- streams


def _stream_calls(client: Switchyard) -> int:
    return sum(d["calls"] for d in client.metrics()["deployments"])


def test_abandoned_stream_closes_upstream(mock: Mock) -> None:
    words = " ".join(f"w{i}" for i in range(20))
    s = mock.session({"models": {"*": [{"content": words, "inter_token_ms": 100}]}})
    with Switchyard(config=s.openai_config()) as client:
        started = time.monotonic()
        for chunk in client.chat.completions.create(model="chat", messages=HI, stream=True):
            if chunk.choices and chunk.choices[0].delta.content:
                break
        # The loop's iterator is gone: the core stream was dropped and the call settled at
        # once, long before the 2 s the mock would take to send everything.
        gc.collect()
        assert _stream_calls(client) == 1
        assert time.monotonic() - started < 1.5

        stream = client.chat.completions.create(model="chat", messages=HI, stream=True)
        with stream:
            next(stream)
        assert stream.closed
        assert _stream_calls(client) == 2
        assert list(stream) == []  # a closed stream just ends


# ---------------------------------------------------------------- asyncio


def test_async_client(mock: Mock) -> None:
    s = mock.session({"models": {"*": [{"content": "async hello"}]}})

    async def main() -> None:
        async with AsyncSwitchyard(config=s.openai_config()) as client:
            r = await client.chat.completions.create(model="chat", messages=HI)
            assert r.choices[0].message.content == "async hello"
            stream = await client.chat.completions.create(model="chat", messages=HI, stream=True)
            text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
            assert text == "async hello"
            e = await client.embeddings.create(model="embed", input="x")
            assert len(e.data) == 1
            assert [m.id for m in await client.models.list()] == ["chat", "embed"]
            results = await asyncio.gather(*(client.chat.completions.create(model="chat", messages=HI) for _ in range(20)))
            assert len(results) == 20
            with pytest.raises(switchyard.BadRequestError):
                await client.chat.completions.create(model="chat", messages=[])

    asyncio.run(main())


def test_async_cancel_cancels_the_upstream_call(mock: Mock) -> None:
    s = mock.session({"models": {"*": [{"fault": "hang"}]}})

    async def main() -> float:
        async with AsyncSwitchyard(config=s.openai_config()) as client:
            task = asyncio.ensure_future(client.chat.completions.create(model="chat", messages=HI))
            # The event loop keeps running while the call is in flight.
            ticks = 0
            for _ in range(20):
                await asyncio.sleep(0.01)
                ticks += 1
            assert ticks == 20 and not task.done()
            started = time.monotonic()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            return time.monotonic() - started

    assert asyncio.run(main()) < 0.5
    assert s.counters()["total"] == 1


def test_async_stream_abandoned(mock: Mock) -> None:
    words = " ".join(f"w{i}" for i in range(20))
    s = mock.session({"models": {"*": [{"content": words, "inter_token_ms": 100}]}})

    async def main() -> None:
        async with AsyncSwitchyard(config=s.openai_config()) as client:
            stream = await client.chat.completions.create(model="chat", messages=HI, stream=True)
            async with stream:
                async for chunk in stream:
                    if chunk.choices and chunk.choices[0].delta.content:
                        break
            assert stream.closed
            await asyncio.sleep(0.05)
            assert sum(d["calls"] for d in client.metrics()["deployments"]) == 1

    asyncio.run(main())


# ---------------------------------------------------------------- typing


def test_examples_type_check() -> None:
    mypy = pytest.importorskip("mypy.api")
    examples = ROOT / "examples" / "python"
    files = sorted(str(p) for p in examples.glob("*.py"))
    assert files, "no Python examples"
    # Checked for the Python that runs them: the gateway example imports `openai`, whose
    # pydantic is written for newer Pythons than the SDK's own 3.9 floor.
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    out, err, status = mypy.run(["--strict", "--no-incremental", "--python-version", version, *files])
    assert status == 0, out + err
