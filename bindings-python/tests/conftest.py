"""Shared fixtures: one mock provider process for the whole run, a session per test."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import urllib.request
from typing import Any, Dict, Iterator, List, Optional

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


def built_binary(name: str, env: str) -> str:
    """A binary of the cargo build: `env` when set, else the debug target directory's."""
    explicit = os.environ.get(env)
    if explicit:
        return explicit
    target = os.environ.get("CARGO_TARGET_DIR") or str(ROOT / "target")
    return os.path.join(target, "debug", name)


def mock_binary() -> str:
    return built_binary("switchyard-mock", "SWITCHYARD_MOCK_BIN")


def http_json(method: str, url: str, body: Optional[Any] = None, token: Optional[str] = None) -> Any:
    """One JSON request; the decoded answer (None when empty)."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("content-type", "application/json")
    if token is not None:
        req.add_header("authorization", f"Bearer {token}")
    with urllib.request.urlopen(req, timeout=10) as resp:
        text = resp.read()
    return json.loads(text) if text else None


class Session:
    def __init__(self, mock: "Mock", session_id: str) -> None:
        self.id = session_id
        self.url = f"{mock.url}/s/{session_id}"
        self._mock = mock

    def counters(self) -> Dict[str, Any]:
        return http_json("GET", f"{self._mock.url}/_mock/sessions/{self.id}/counters")  # type: ignore[no-any-return]

    def requests(self) -> List[Dict[str, Any]]:
        return http_json("GET", f"{self._mock.url}/_mock/sessions/{self.id}/requests")  # type: ignore[no-any-return]

    def usage(self) -> List[Dict[str, Any]]:
        """The usage batches shipped to this session: `[{"raw": text, "events": [...]}]`."""
        return http_json("GET", f"{self._mock.url}/_mock/sessions/{self.id}/usage")  # type: ignore[no-any-return]

    def openai_config(self, model: str = "gpt-4o-mini", **model_extra: Any) -> Dict[str, Any]:
        """A config with one OpenAI provider on this session and model alias `chat`."""
        return {
            "version": 1,
            "providers": {"oa": {"kind": "openai", "base_url": f"{self.url}/v1"}},
            "models": {
                "chat": {"deployments": [{"provider": "oa", "model": model}], **model_extra},
                "embed": {"type": "embedding", "deployments": [{"provider": "oa", "model": "text-embedding-3-small"}]},
            },
        }


class Mock:
    def __init__(self, url: str) -> None:
        self.url = url

    def session(self, script: Optional[Dict[str, Any]] = None) -> Session:
        created = http_json("POST", f"{self.url}/_mock/sessions", script or {})
        return Session(self, created["id"])


@pytest.fixture(scope="session")
def mock() -> Iterator[Mock]:
    binary = mock_binary()
    if not os.path.exists(binary):
        pytest.fail(f"mock provider not built: {binary} (cargo build -p switchyard-mock-provider)")
    proc = subprocess.Popen(
        [binary, "--addr", "127.0.0.1:0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    if not line.startswith("listening on "):
        proc.kill()
        pytest.fail(f"mock did not start: {line!r}")
    try:
        yield Mock(line[len("listening on ") :])
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
