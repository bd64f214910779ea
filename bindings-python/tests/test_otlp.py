"""OTLP export from Python: a real program (its own process, since export is process-wide)
sends its spans and GenAI metrics to a capture collector, by ``otlp_endpoint=`` or by the
standard ``OTEL_EXPORTER_OTLP_ENDPOINT``, and exits cleanly with nothing lost."""

from __future__ import annotations

import http.server
import json
import os
import subprocess
import sys
import threading
from typing import Dict, Iterator, List, Tuple

import pytest

from conftest import Mock

PROGRAM = r"""
import json, os, sys
import switchyard

config = json.loads(sys.argv[1])
endpoint = sys.argv[2] or None
client = switchyard.Switchyard(config=config, otlp_endpoint=endpoint, service_name="py-otlp-test")
reply = client.chat.completions.create(model="chat", messages=[{"role": "user", "content": "hi"}])
assert reply.choices[0].message.content == "exported", reply
if sys.argv[3] == "close":
    client.close()
# Otherwise nothing is closed: the buffered export must still leave at exit.
"""


class Collector:
    """An OTLP/HTTP receiver that keeps every request's path and body."""

    def __init__(self) -> None:
        self.received: List[Tuple[str, bytes]] = []
        collector = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the http.server spelling
                length = int(self.headers.get("content-length", "0"))
                collector.received.append((self.path, self.rfile.read(length)))
                self.send_response(200)
                self.send_header("content-type", "application/x-protobuf")
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def bodies(self, path: str) -> bytes:
        return b"".join(body for p, body in self.received if p == path)


@pytest.fixture
def collector() -> Iterator[Collector]:
    c = Collector()
    try:
        yield c
    finally:
        c.server.shutdown()


def run(mock: Mock, endpoint: str, finish: str, env: Dict[str, str]) -> None:
    s = mock.session({"models": {"*": [{"content": "exported"}]}})
    out = subprocess.run(
        [sys.executable, "-c", PROGRAM, json.dumps(s.openai_config()), endpoint, finish],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr


@pytest.mark.parametrize(
    "how, finish",
    [("argument", "close"), ("argument", "exit"), ("environment", "exit")],
)
def test_spans_and_metrics_reach_the_collector(
    mock: Mock, collector: Collector, how: str, finish: str
) -> None:
    if how == "argument":
        run(mock, collector.url, finish, {})
    else:
        run(mock, "", finish, {"OTEL_EXPORTER_OTLP_ENDPOINT": collector.url})
    traces = collector.bodies("/v1/traces")
    metrics = collector.bodies("/v1/metrics")
    # Protobuf keeps strings as they are: the conventions' names are in the bodies.
    for needle in [b"chat chat", b"chat gpt-4o-mini", b"gen_ai.operation.name",
                   b"gen_ai.provider.name", b"gen_ai.request.model", b"gen_ai.response.model",
                   b"gen_ai.usage.input_tokens", b"py-otlp-test"]:
        assert needle in traces, needle
    assert b"gen_ai.system" not in traces
    for needle in [b"gen_ai.client.operation.duration", b"gen_ai.client.token.usage",
                   b"gen_ai.token.type"]:
        assert needle in metrics, needle

