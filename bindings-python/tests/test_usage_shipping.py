"""A program in server mode ships every call's usage event before it exits normally: sync and
asyncio, with and without ``close()``/``flush()``. Each runs as a real program in a
subprocess against a small recording stand-in for the management server (its config and
usage endpoints), which decompresses and counts what arrives."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import textwrap
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, Iterator, List

import pytest

from conftest import Mock

KEY = "sy_test_python_usage"
CALLS = 40

PROGRAM = textwrap.dedent(
    """
    import asyncio, sys
    import switchyard

    variant, url, key, calls = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    HI = [{"role": "user", "content": "hi"}]

    def sync(end):
        client = switchyard.Switchyard(server=url, api_key=key)
        for _ in range(calls):
            client.chat.completions.create(model="chat", messages=HI)
        if end == "flush":
            client.flush()
        elif end == "close":
            client.close()

    async def run_async(end):
        client = switchyard.AsyncSwitchyard(server=url, api_key=key)
        await asyncio.gather(*[client.chat.completions.create(model="chat", messages=HI) for _ in range(calls)])
        if end == "flush":
            await client.flush()
        elif end == "close":
            await client.close()

    def forked():
        # The parent's calls before and after a fork and the child's all arrive, and the
        # child's exit waits for nothing of its parent's.
        import os
        client = switchyard.Switchyard(server=url, api_key=key)
        for _ in range(calls):
            client.chat.completions.create(model="chat", messages=HI)
        pid = os.fork()
        for _ in range(calls):
            client.chat.completions.create(model="chat", messages=HI)
        if pid == 0:
            sys.exit(0)  # a normal exit: atexit runs
        _, status = os.waitpid(pid, 0)
        assert status == 0, status

    kind, end = variant.split("_")
    if kind == "sync":
        sync(end)
    elif kind == "fork":
        forked()
    else:
        asyncio.run(run_async(end))
    """
)

VARIANTS = ["sync_exit", "sync_flush", "sync_close", "async_exit", "async_flush", "async_close", "fork_exit"]


class Recorder:
    """The management server's two SDK endpoints, recording every usage batch."""

    def __init__(self, config: Dict[str, Any]) -> None:
        self.config = config
        self.batches: List[Dict[str, Any]] = []
        self.lock = threading.Lock()
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                if not self.path.startswith("/sdk/v1/config"):
                    self.send_error(404)
                    return
                if self.headers.get("if-none-match") == '"v1"':
                    time.sleep(1)  # a short long-poll: nothing new
                    self.send_response(304)
                    self.end_headers()
                    return
                body = json.dumps(recorder.config).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("etag", '"v1"')
                self.send_header("x-switchyard-config-version", "1")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("content-length", "0")))
                if self.path != "/sdk/v1/usage":
                    # A server without leases (POST /sdk/v1/leases): the SDK leases nothing.
                    self.send_response(404)
                    self.send_header("content-length", "0")
                    self.end_headers()
                    return
                if self.headers.get("content-encoding") == "gzip":
                    raw = gzip.decompress(raw)
                batch = json.loads(raw)
                batch["_authorization"] = self.headers.get("authorization")
                with recorder.lock:
                    recorder.batches.append(batch)
                ack = json.dumps({"accepted": len(batch["events"]), "duplicates": 0, "rejected": []}).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(ack)))
                self.end_headers()
                self.wfile.write(ack)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def events(self) -> List[Dict[str, Any]]:
        with self.lock:
            return [e for b in self.batches for e in b["events"]]


@pytest.fixture
def recorder(mock: Mock) -> Iterator[Recorder]:
    session = mock.session({"models": {"gpt-4o-mini": [{"content": "Hello there!"}]}})
    rec = Recorder(session.openai_config())
    try:
        yield rec
    finally:
        rec.server.shutdown()


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_event_arrives_before_a_normal_exit(recorder: Recorder, variant: str, tmp_path: Any) -> None:
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-c", PROGRAM, variant, recorder.url, KEY, str(CALLS)],
        capture_output=True,
        text=True,
        timeout=60,
        # A spool of its own, should the program ever need one.
        env={**__import__("os").environ, "XDG_CACHE_HOME": str(tmp_path)},
    )
    took = time.monotonic() - started
    assert proc.returncode == 0, proc.stderr[-2000:]
    # An exit never sits out the flush's 10 s limit: the server is there.
    assert took < 8, f"the program took {took:.1f} s"
    # Already there when the process has exited: nothing is sent after.
    events = recorder.events()
    ids = [e["id"] for e in events]
    expected = CALLS * (3 if variant.startswith("fork") else 1)
    assert len(ids) == expected, f"{len(ids)} events arrived, {expected} made"
    assert len(set(ids)) == expected
    assert all(e["model"] == "chat" and e["status"] == "ok" for e in events)
    assert all(b["_authorization"] == f"Bearer {KEY}" for b in recorder.batches)


LOOP = textwrap.dedent(
    """
    import sys
    import switchyard

    client = switchyard.Switchyard(server=sys.argv[1], api_key=sys.argv[2])
    while True:
        client.chat.completions.create(model="chat", messages=[{"role": "user", "content": "hi"}])
        print("call", flush=True)
    """
)


def test_a_killed_program_loses_at_most_its_last_interval(recorder: Recorder, tmp_path: Any) -> None:
    """SIGKILL gives no chance to flush: what was made more than a batch interval (1 s) plus
    a send before the kill has arrived, and nothing arrives twice."""
    import os
    import signal

    proc = subprocess.Popen(
        [sys.executable, "-c", LOOP, recorder.url, KEY],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "XDG_CACHE_HOME": str(tmp_path)},
    )
    assert proc.stdout is not None
    done: List[float] = []
    started = time.monotonic()
    while time.monotonic() - started < 3.5:
        line = proc.stdout.readline()
        assert line == "call\n", f"the program stopped: {line!r}"
        done.append(time.monotonic())
    os.kill(proc.pid, signal.SIGKILL)
    killed = time.monotonic()
    proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL
    time.sleep(0.5)  # a batch the server was reading when the process died
    ids = [e["id"] for e in recorder.events()]
    assert len(set(ids)) == len(ids), "an event arrived twice"
    # The call in progress at the kill may have recorded its event before printing.
    assert len(ids) <= len(done) + 1
    settled = sum(1 for t in done if t <= killed - 1.5)
    assert settled > 0
    assert len(ids) >= settled, f"{len(ids)} arrived of {settled} made more than 1.5 s before the kill"
