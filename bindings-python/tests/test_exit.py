"""A program using the SDK exits with status 0 every time: sync, asyncio, streaming, with and
without ``close()``, with calls still in flight at exit. Each variant runs as a real program
in a subprocess, many times (an exit crash showed up in a share of runs only)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Dict, List, Tuple

import pytest

from conftest import Mock

RUNS = int(os.environ.get("SWITCHYARD_EXIT_RUNS", "12"))

PROGRAM = textwrap.dedent(
    """
    import asyncio, json, sys, threading, time
    import switchyard

    variant, config = sys.argv[1], json.loads(sys.argv[2])
    HI = [{"role": "user", "content": "hi"}]

    async def one(close):
        client = switchyard.AsyncSwitchyard(config=config)
        r = await client.chat.completions.create(model="chat", messages=HI)
        assert r.choices[0].message.content
        if close:
            await client.close()

    async def gathered():
        client = switchyard.AsyncSwitchyard(config=config)
        calls = [client.chat.completions.create(model="chat", messages=HI) for _ in range(200)]
        assert len(await asyncio.gather(*calls)) == 200

    async def stream(close):
        client = switchyard.AsyncSwitchyard(config=config)
        s = await client.chat.completions.create(model="chat", messages=HI, stream=True)
        async for _ in s:
            break  # left open: the stream is dropped at exit
        if close:
            await client.close()

    async def left_running():
        # asyncio.run cancels these at the end: their calls are dropped in the engine.
        client = switchyard.AsyncSwitchyard(config=config)
        for _ in range(20):
            asyncio.ensure_future(client.chat.completions.create(model="slow", messages=HI))
        await asyncio.sleep(0.05)

    def unclosed_loop():
        # A loop never closed, with calls still in flight: their results arrive at exit.
        client = switchyard.AsyncSwitchyard(config=config)
        loop = asyncio.new_event_loop()
        for i in range(20):
            loop.create_task(client.chat.completions.create(model="slow" if i % 2 else "chat", messages=HI))
        loop.run_until_complete(asyncio.sleep(0.1))

    def sync(close):
        client = switchyard.Switchyard(config=config)
        client.chat.completions.create(model="chat", messages=HI)
        for _ in client.chat.completions.create(model="chat", messages=HI, stream=True):
            break
        if close:
            client.close()

    def daemon_in_flight():
        client = switchyard.Switchyard(config=config)
        for _ in range(4):
            threading.Thread(
                target=lambda: client.chat.completions.create(model="slow", messages=HI), daemon=True
            ).start()
        time.sleep(0.1)

    {
        "async": lambda: asyncio.run(one(False)),
        "async_close": lambda: asyncio.run(one(True)),
        "async_gather": lambda: asyncio.run(gathered()),
        "async_stream": lambda: asyncio.run(stream(False)),
        "async_stream_close": lambda: asyncio.run(stream(True)),
        "async_cancelled_at_exit": lambda: asyncio.run(left_running()),
        "async_in_flight_at_exit": unclosed_loop,
        "sync": lambda: sync(False),
        "sync_close": lambda: sync(True),
        "sync_daemon_in_flight": daemon_in_flight,
    }[variant]()
    """
)

VARIANTS = [
    "async",
    "async_close",
    "async_gather",
    "async_stream",
    "async_stream_close",
    "async_cancelled_at_exit",
    "async_in_flight_at_exit",
    "sync",
    "sync_close",
    "sync_daemon_in_flight",
]


def config(mock: Mock) -> Dict[str, Any]:
    s = mock.session(
        {
            "models": {
                "gpt-4o-mini": [{"content": "Hello there!", "chunks": ["Hel", "lo"]}],
                "slow": [{"content": "late", "latency_ms": 300}],
            }
        }
    )
    out = s.openai_config()
    out["models"]["slow"] = {"deployments": [{"provider": "oa", "model": "slow"}]}
    return out


def run(variant: str, cfg: str) -> Tuple[int, str]:
    proc = subprocess.run(
        [sys.executable, "-c", PROGRAM, variant, cfg],
        capture_output=True,
        text=True,
        timeout=60,
    )
    return proc.returncode, proc.stderr[-2000:]


@pytest.mark.parametrize("variant", VARIANTS)
def test_exit_is_clean_every_time(mock: Mock, variant: str) -> None:
    cfg = json.dumps(config(mock))
    with ThreadPoolExecutor(max_workers=4) as pool:
        results: List[Tuple[int, str]] = list(pool.map(lambda _: run(variant, cfg), range(RUNS)))
    failed = [(code, err) for code, err in results if code != 0]
    assert failed == [], f"{len(failed)}/{RUNS} runs of {variant} failed; first: {failed[0]}"


def test_close_lets_calls_in_flight_finish(mock: Mock) -> None:
    import asyncio

    import switchyard

    cfg = config(mock)

    async def main() -> None:
        client = switchyard.AsyncSwitchyard(config=cfg)
        calls = [
            asyncio.ensure_future(client.chat.completions.create(model="slow", messages=[{"role": "user", "content": "hi"}]))
            for _ in range(5)
        ]
        await asyncio.sleep(0.05)
        await client.close()
        assert all(c.done() for c in calls)
        assert [c.result().choices[0].message.content for c in calls] == ["late"] * 5
        with pytest.raises(switchyard.UnavailableError):
            await client.chat.completions.create(model="chat", messages=[{"role": "user", "content": "hi"}])

    asyncio.run(main())
