#!/usr/bin/env python3
"""Call logs' storage: how much a SQLite database grows per 10,000 logged calls.

Runs the real server binary twice on a fresh SQLite file each time, posting N usage events
through POST /sdk/v1/usage in batches: once without content (the usage alone), once with
each event carrying call-log content (a ~2 KB chat request and a ~1 KB answer of English
words, the app's policy `all`). The database (after a WAL checkpoint) is measured after
each run; the difference is what the content costs. Prints one JSON line per run and a
summary scaled to 10,000 calls, and the ingest time of each run.

    python3 bench/call-logs-storage.py [N]      (default 10000)
    BIN=path/to/switchyard  (default $CARGO_TARGET_DIR/release/switchyard, built if missing)
"""
import json
import os
import random
import sqlite3
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid

N = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
BATCH = 500
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
BIN = os.environ.get("BIN", os.path.join(TARGET, "release", "switchyard"))

WORDS = (
    "the order customer invoice shipping address refund product account payment delivery "
    "please could you help me with my last week status tracking number item return policy "
    "warehouse carrier estimate price discount coupon subscription plan upgrade cancel "
    "question answer thanks hello support agent summary details about when where why how "
    "because after before during today tomorrow monday friday morning evening receipt "
    "total amount tax region europe germany france label package damaged replacement"
).split()


def text(rng, size):
    out = []
    n = 0
    while n < size:
        w = rng.choice(WORDS)
        out.append(w)
        n += len(w) + 1
    return " ".join(out)[:size]


def content(rng):
    """A ~2 KB request (system prompt, a short history, the question) and a ~1 KB answer."""
    messages = [
        {"role": "system", "content": text(rng, 600)},
        {"role": "user", "content": text(rng, 400)},
        {"role": "assistant", "content": text(rng, 400)},
        {"role": "user", "content": text(rng, 450)},
    ]
    return {
        "request": {"model": "chat", "temperature": 0.3, "max_tokens": 400, "messages": messages},
        "response": {"content": text(rng, 1000), "finish_reason": "stop"},
        "error": None,
        "redacted": True,
        "truncated": False,
        "original_bytes": 3100,
    }


def event(rng, i, with_content):
    e = {
        "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "time_ms": int(time.time() * 1000) - (N - i) * 10,
        "tenant": None, "app": None, "user": f"user-{rng.randrange(500)}",
        "model": "chat", "deployment": "openai/gpt-4o-mini", "provider": "openai",
        "upstream_model": "gpt-4o-mini", "prompt_tokens": 520, "completion_tokens": 230,
        "cached_tokens": 0, "cost_usd": 0.00021, "latency_ms": 840.0, "ttft_ms": 210.0,
        "status": "ok", "cache_hit": False, "attempts": 1, "fallback": None, "fallbacks": 0,
        "arm": None, "local": False, "stream": False, "tags": ["feature:support"], "metadata": {},
    }
    if with_content:
        e["content"] = content(rng)
    return e


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def call(base, method, path, token, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method)
    req.add_header("authorization", f"Bearer {token}")
    req.add_header("content-type", "application/json")
    with urllib.request.urlopen(req) as r:
        return json.loads(r.read() or b"null")


def db_bytes(path):
    con = sqlite3.connect(path)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    rows = con.execute("SELECT COUNT(*), COALESCE(SUM(LENGTH(sealed)), 0) FROM call_logs").fetchone()
    con.close()
    size = os.path.getsize(path)
    wal = path + "-wal"
    if os.path.exists(wal):
        size += os.path.getsize(wal)
    return size, rows


def run(with_content, work):
    db = os.path.join(work, f"{'content' if with_content else 'usage'}.db")
    env = dict(os.environ, SWITCHYARD_DATABASE_URL=f"sqlite://{db}",
               SWITCHYARD_MASTER_KEY=os.environ.get("SWITCHYARD_MASTER_KEY",
                                                    "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="))
    out = subprocess.run([BIN, "init", "--tenant", "bench", "--admin", "admin"], env=env,
                         check=True, capture_output=True, text=True).stdout
    token = next(l.split()[1] for l in out.splitlines() if l.startswith("token:"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([BIN, "serve", "--listen", f"127.0.0.1:{port}"], env=env,
                              stderr=subprocess.DEVNULL)
    try:
        for _ in range(500):
            try:
                urllib.request.urlopen(base + "/readyz")
                break
            except OSError:
                time.sleep(0.02)
        dep = call(base, "GET", "/api/v1/departments", token)["items"][0]["id"]
        app = call(base, "POST", "/api/v1/apps", token, {"department_id": dep, "name": "support"})["id"]
        key = call(base, "POST", f"/api/v1/apps/{app}/keys", token, {"name": "bench"})["secret"]
        if with_content:
            call(base, "PUT", f"/api/v1/apps/{app}/call-logs", token, {"content": "all", "max_bytes": 8192})
        before, _ = db_bytes(db)
        rng = random.Random(26)
        events = [event(rng, i, with_content) for i in range(N)]
        shipped = sum(len(json.dumps(e["content"], separators=(",", ":"))) for e in events if "content" in e)
        start = time.perf_counter()
        for i in range(0, N, BATCH):
            ack = call(base, "POST", "/sdk/v1/usage", key, {"dropped": 0, "events": events[i:i + BATCH]})
            assert ack["accepted"] == len(events[i:i + BATCH]), ack
        seconds = time.perf_counter() - start
    finally:
        server.terminate()
        server.wait()
    after, (logged, sealed) = db_bytes(db)
    result = {
        "content": with_content, "calls": N, "logged": logged, "db_growth_bytes": after - before,
        "content_json_bytes": shipped, "sealed_bytes": sealed, "ingest_s": round(seconds, 2),
    }
    print(json.dumps(result))
    return result


def main():
    if not os.path.exists(BIN):
        subprocess.run(["cargo", "build", "--release", "-p", "switchyard-server", "--bin", "switchyard"],
                       cwd=ROOT, check=True)
    with tempfile.TemporaryDirectory() as work:
        usage = run(False, work)
        logged = run(True, work)
    scale = 10_000 / N
    mib = 1024 * 1024
    extra = (logged["db_growth_bytes"] - usage["db_growth_bytes"]) * scale
    print(json.dumps({
        "per_10000_calls": {
            "usage_only_mib": round(usage["db_growth_bytes"] * scale / mib, 2),
            "with_content_mib": round(logged["db_growth_bytes"] * scale / mib, 2),
            "content_share_mib": round(extra / mib, 2),
            "content_json_shipped_mib": round(logged["content_json_bytes"] * scale / mib, 2),
            "content_bytes_per_call": round(extra / 10_000),
        },
        "ingest_s": {"usage_only": usage["ingest_s"], "with_content": logged["ingest_s"]},
    }))


if __name__ == "__main__":
    main()
