"""Graceful shutdown of the real server binary: on SIGTERM `/readyz` answers 503 at once
(while the listener still accepts, for `--drain-secs`), and a gateway stream in flight
finishes whole, `[DONE]` included, before the process exits."""

from __future__ import annotations

import json
import os
import pathlib
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

from openai import OpenAI

HARNESS = pathlib.Path(__file__).resolve().parents[1] / "harness.py"


def test_a_stream_in_flight_finishes_after_sigterm() -> None:
    run = pathlib.Path(tempfile.mkdtemp(prefix="switchyard-gateway-shutdown-"))
    env = dict(os.environ, SWITCHYARD_DRAIN_SECS="1")
    subprocess.run([sys.executable, str(HARNESS), "start", str(run)], check=True, stdout=subprocess.DEVNULL, env=env)
    try:
        gateway = json.loads((run / "env.json").read_text())
        pid = int((run / "server.pid").read_text())
        client = OpenAI(base_url=f"{gateway['url']}/v1", api_key=gateway["key"], max_retries=0)
        stream = client.chat.completions.create(
            model="slow", messages=[{"role": "user", "content": "hi"}], stream=True
        )
        chunks = iter(stream)
        said = [next(chunks).choices[0].delta.content or ""]

        os.kill(pid, signal.SIGTERM)
        time.sleep(0.2)
        try:
            urllib.request.urlopen(f"{gateway['url']}/readyz", timeout=2)
            ready = 200
        except urllib.error.HTTPError as e:
            ready = e.code
        assert ready == 503

        said += [c.choices[0].delta.content or "" for c in chunks if c.choices]
        assert "".join(said) == "a b c d e"
        for _ in range(100):
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)
        else:
            raise AssertionError("the server did not exit after its stream finished")
    finally:
        subprocess.run([sys.executable, str(HARNESS), "stop", str(run)], check=False)
