"""Starts what the official-client gateway tests run against, and stops it.

    python3 tests/gateway/harness.py start DIR   # prints DIR/env.json's content
    python3 tests/gateway/harness.py stop DIR

`start` runs the mock provider and the real server binary of the cargo build (or
$SWITCHYARD_MOCK_BIN / $SWITCHYARD_SERVER_BIN), makes a tenant, the provider with its key
(held only by the server), a config on the mock (models below), and two apps with a key
each (`key`: every model; `limited_key`: only `chat`), and writes DIR/env.json:
{"url", "key", "limited_key", "mock_url"}. The clients under test get only `url` + `/v1`
and a key. Standard library only, so each language's tests can call it.
"""

from __future__ import annotations

import json
import os
import pathlib
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from typing import Any, Dict, Optional

ROOT = pathlib.Path(__file__).resolve().parents[2]
PROVIDER_KEY = "sk-gateway-clients"

# What the mock answers, by the upstream model each alias below is sent to.
SCRIPT = {
    "require_api_key": PROVIDER_KEY,
    "models": {
        "gpt-4o-mini": [{"content": "Hello there"}],
        "tooly": [{"tool_calls": [{"id": "call_1", "name": "get_weather", "arguments": {"city": "Paris"}}]}],
        "rl": [{"status": 429, "retry_after": "7"}],
        "ctx": [{"status": 400, "error_type": "context_length_exceeded"}],
        "boom": [{"status": 500}],
        "hang": [{"fault": "hang"}],
        "cut": [{"fault": "cut", "cut_after": 1, "chunks": ["one ", "two ", "three"]}],
        "slow": [{"chunks": ["a ", "b ", "c ", "d ", "e"], "inter_token_ms": 300}],
    },
}


def binary(name: str, env: str) -> str:
    explicit = os.environ.get(env)
    if explicit:
        return explicit
    target = os.environ.get("CARGO_TARGET_DIR") or str(ROOT / "target")
    return os.path.join(target, "debug", name)


def model(upstream: str, kind: str = "chat") -> Dict[str, Any]:
    return {
        "type": kind,
        "deployments": [{"provider": "mock", "model": upstream}],
        "retry": {"max_attempts": 1, "max_retry_after_ms": 1000},
        "timeout_ms": 1000,
    }


def document(mock_url: str) -> Dict[str, Any]:
    models = {alias: model(alias) for alias in ("tooly", "rl", "ctx", "boom", "hang", "cut", "slow")}
    models["chat"] = model("gpt-4o-mini")
    models["pricey"] = model("gpt-4o-mini")
    models["embed"] = model("text-embedding-3-small", "embedding")
    return {
        "version": 1,
        "providers": {"mock": {"kind": "openai", "base_url": f"{mock_url}/v1"}},
        "models": models,
        "budgets": [
            {"name": "tiny", "scope": "model", "value": "pricey", "period": "day", "limit_usd": 0.000000001}
        ],
    }


def call(method: str, url: str, body: Optional[Any] = None, token: Optional[str] = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("content-type", "application/json")
    if token:
        req.add_header("authorization", f"Bearer {token}")
    with urllib.request.urlopen(req, timeout=10) as resp:
        text = resp.read()
    return json.loads(text) if text else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(check: Any, what: str, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except (OSError, urllib.error.URLError):
            pass
        time.sleep(0.05)
    raise SystemExit(f"harness: {what} did not come up")


def start(run: pathlib.Path) -> Dict[str, Any]:
    run.mkdir(parents=True, exist_ok=True)
    server_bin = binary("switchyard", "SWITCHYARD_SERVER_BIN")
    mock_bin = binary("switchyard-mock", "SWITCHYARD_MOCK_BIN")
    for path in (server_bin, mock_bin):
        if not os.path.exists(path):
            raise SystemExit(f"harness: not built: {path} (cargo test --workspace --no-run)")

    (run / "script.json").write_text(json.dumps(SCRIPT))
    port_file = run / "mock.port"
    port_file.unlink(missing_ok=True)
    mock = subprocess.Popen(
        [mock_bin, "--script", str(run / "script.json"), "--port-file", str(port_file)],
        stdout=subprocess.DEVNULL,
        stderr=open(run / "mock.log", "w"),
        start_new_session=True,
    )
    (run / "mock.pid").write_text(str(mock.pid))
    wait_until(lambda: port_file.exists() and port_file.read_text().strip(), "the mock provider")
    mock_url = f"http://127.0.0.1:{port_file.read_text().strip()}"

    env = dict(os.environ)
    env["SWITCHYARD_MASTER_KEY"] = subprocess.run(
        [server_bin, "master-key", "generate"], capture_output=True, text=True, check=True
    ).stdout.strip()
    env.setdefault("RUST_LOG", "warn")
    db = f"sqlite://{run / 'switchyard.db'}"
    init = subprocess.run(
        [server_bin, "--database-url", db, "init", "--tenant", "acme", "--password", "a long test password"],
        capture_output=True, text=True, check=True, env=env,
    )
    token = next(line.split(":", 1)[1].strip() for line in init.stdout.splitlines() if line.startswith("token:"))
    addr = f"127.0.0.1:{free_port()}"
    server = subprocess.Popen(
        [server_bin, "--database-url", db, "serve", "--listen", addr, "--grace-secs", "5"],
        stdout=subprocess.DEVNULL,
        stderr=open(run / "server.log", "w"),
        env=env,
        start_new_session=True,
    )
    (run / "server.pid").write_text(str(server.pid))
    url = f"http://{addr}"
    wait_until(lambda: call("GET", f"{url}/readyz") is not None, "the server")

    api = f"{url}/api/v1"
    call("POST", f"{api}/providers", {"name": "mock", "kind": "openai", "credential": PROVIDER_KEY}, token)
    version = call("POST", f"{api}/configs", {"document": document(mock_url)}, token)
    call("POST", f"{api}/configs/{version['id']}/activate", None, token)
    root = call("GET", f"{api}/departments", None, token)["items"][0]["id"]

    def app_key(name: str, allowed: Optional[list] = None) -> str:
        body: Dict[str, Any] = {"department_id": root, "name": name}
        if allowed is not None:
            body["allowed_models"] = allowed
        app = call("POST", f"{api}/apps", body, token)
        return str(call("POST", f"{api}/apps/{app['id']}/keys", {"name": "client"}, token)["secret"])

    found = {"url": url, "key": app_key("clients"), "limited_key": app_key("limited", ["chat"]), "mock_url": mock_url}
    (run / "env.json").write_text(json.dumps(found))
    return found


def stop(run: pathlib.Path) -> None:
    for name in ("server.pid", "mock.pid"):
        pid_file = run / name
        if not pid_file.exists():
            continue
        pid = int(pid_file.read_text())
        try:
            os.kill(pid, signal.SIGTERM)
            for _ in range(200):
                os.kill(pid, 0)
                time.sleep(0.05)
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        pid_file.unlink()


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("start", "stop"):
        raise SystemExit(__doc__)
    directory = pathlib.Path(sys.argv[2])
    if sys.argv[1] == "start":
        try:
            print(json.dumps(start(directory)))
        except BaseException:
            stop(directory)
            raise
    else:
        stop(directory)
