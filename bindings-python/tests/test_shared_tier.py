"""The Redis tier through the Python SDK (docs/redis.md): several Python processes, each
with its own client built from the same config, share one redis-server in front of the mock
provider. Nothing in the binding knows Redis: the config alone turns the tier on."""

from __future__ import annotations

import json
import math
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from typing import Any, Dict, Iterator, List

import pytest

from conftest import Mock

# One worker process: builds a client from the config, makes its calls, prints a JSON line.
WORKER = r"""
import json, sys, time
import switchyard
config, prompt, calls, start_at = json.loads(sys.argv[1]), sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
time.sleep(max(0.0, start_at - time.time()))
ok = hits = refused = 0
with switchyard.Switchyard(config=config) as client:
    for i in range(calls):
        try:
            r = client.chat.completions.create(model="chat", messages=[{"role": "user", "content": prompt.replace("{i}", str(i))}])
            ok += 1
            hits += int(r.switchyard.cache_hit)
        except switchyard.RateLimitError:
            refused += 1
        time.sleep(0.02)
    tier = client.metrics().get("shared_tier", {})
print(json.dumps({"ok": ok, "hits": hits, "refused": refused, "fallbacks": tier.get("cache_fallbacks", 0) + tier.get("limit_fallbacks", 0)}))
"""


@pytest.fixture()
def redis_url() -> Iterator[str]:
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("*** redis-server is not installed (apt-get install redis-server): the shared-tier tests did not run ***")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    workdir = tempfile.mkdtemp(prefix="switchyard-redis-")
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", workdir],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.time() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.time() < deadline, "redis-server did not start"
                time.sleep(0.01)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.kill()
        proc.wait()
        shutil.rmtree(workdir, ignore_errors=True)


def workers(config: Dict[str, Any], prompt: str, calls: int, count: int) -> List[Dict[str, Any]]:
    start_at = time.time() + 1.0
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, json.dumps(config), prompt, str(calls), str(start_at)],
            stdout=subprocess.PIPE,
            text=True,
            env=os.environ.copy(),
        )
        for _ in range(count)
    ]
    results = []
    for proc in procs:
        out, _ = proc.communicate(timeout=60)
        assert proc.returncode == 0, out
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


def test_processes_share_answers_and_a_limit(mock: Mock, redis_url: str) -> None:
    s = mock.session({"models": {"*": [{"latency_ms": 200}]}})
    config = s.openai_config()
    config["redis"] = {"url": redis_url}
    config["cache"] = {"mode": "always", "shared": {}}

    # One process fetches; three others, started together, are all served by Redis.
    first = workers(config, "a shared question", 1, 1)
    assert first[0]["ok"] == 1 and first[0]["hits"] == 0
    others = workers(config, "a shared question", 1, 3)
    assert all(r["ok"] == 1 and r["hits"] == 1 for r in others), others
    assert s.counters()["total"] == 1

    # Three processes missing the same answer at once: one upstream call between them.
    workers(config, "asked at once", 1, 3)
    assert s.counters()["total"] == 2

    # A shared limit (60 rpm, burst 3) holds across 3 processes × 8 calls.
    limited = s.openai_config()
    limited["redis"] = {"url": redis_url}
    limited["rate_limits"] = [
        {"name": "per-model", "scope": "model", "rpm": 60, "burst": 3, "action": "reject", "shared": True}
    ]
    before = s.counters()["total"]
    started = time.time()
    runs = workers(limited, "limited {i}", 8, 3)
    window = time.time() - started
    admitted = sum(r["ok"] for r in runs)
    assert admitted + sum(r["refused"] for r in runs) == 24
    assert 3 <= admitted <= 3 + math.ceil(window), (admitted, window)
    assert s.counters()["total"] - before == admitted
    assert all(r["fallbacks"] == 0 for r in runs)
