"""``Switchyard(server=..., api_key=...)`` against the real management server binary: the
config comes from the server, an activation reaches a running client, a wrong key is an
``AuthenticationError``, and a client started while the server is down uses its cache."""

from __future__ import annotations

import asyncio
import os
import pathlib
import socket
import subprocess
import time
import urllib.error
import urllib.request
from typing import Any, Dict, Iterator, Optional

import pytest

import switchyard
from switchyard import AsyncSwitchyard, Switchyard

from conftest import Mock, Session, built_binary, http_json


def server_binary() -> str:
    return built_binary("switchyard", "SWITCHYARD_SERVER_BIN")


class Management:
    """A running server with one tenant, its admin token, and an app key."""

    def __init__(self, url: str, token: str) -> None:
        self.url = url
        self.token = token
        self.app_key = ""

    def api(self, method: str, path: str, body: Optional[Any] = None) -> Any:
        return http_json(method, f"{self.url}{path}", body, token=self.token)

    def activate(self, document: Dict[str, Any]) -> None:
        version = self.api("POST", "/api/v1/configs", {"document": document})
        self.api("POST", f"/api/v1/configs/{version['id']}/activate")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def management(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Management]:
    binary = server_binary()
    if not os.path.exists(binary):
        pytest.fail(f"server not built: {binary} (cargo build -p switchyard-server)")
    db = f"sqlite://{tmp_path_factory.mktemp('server') / 'switchyard.db'}"
    init = subprocess.run(
        [binary, "--database-url", db, "init", "--tenant", "acme", "--password", "pw-for-tests-123"],
        capture_output=True,
        text=True,
        check=True,
    )
    token = next(
        line.split(":", 1)[1].strip() for line in init.stdout.splitlines() if line.startswith("token:")
    )
    addr = f"127.0.0.1:{free_port()}"
    proc = subprocess.Popen(
        [binary, "--database-url", db, "serve", "--listen", addr],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://{addr}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{url}/readyz", timeout=1).close()
                break
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.05)
        else:
            pytest.fail("the server did not get ready")
        yield Management(url, token)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(scope="module")
def app_key(management: Management, mock: Mock) -> str:
    root = management.api("GET", "/api/v1/departments")["items"][0]["id"]
    app = management.api("POST", "/api/v1/apps", {"department_id": root, "name": "checkout"})
    key = management.api("POST", f"/api/v1/apps/{app['id']}/keys", {"name": "sdk"})
    return str(key["secret"])


def config_with(session: Session, *aliases: str) -> Dict[str, Any]:
    document = session.openai_config()
    for alias in aliases:
        document["models"][alias] = document["models"]["chat"]
    return document


def wait_for_model(client: Any, alias: str, within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while alias not in client.config()["models"]:
        assert time.monotonic() < deadline, f"{alias} never arrived"
        time.sleep(0.01)


def test_the_client_runs_and_follows_the_servers_config(
    management: Management, app_key: str, mock: Mock, tmp_path: pathlib.Path
) -> None:
    session = mock.session({"models": {"*": [{"content": "from the server's config"}]}})
    management.activate(config_with(session))
    cache = tmp_path / "config-cache.json"
    with Switchyard(server=management.url, api_key=app_key, config_cache=cache) as client:
        r = client.chat.completions.create(model="chat", messages=[{"role": "user", "content": "hi"}])
        assert r.choices[0].message.content == "from the server's config"
        assert client.config()["identity"]["app"] == "checkout"
        management.activate(config_with(session, "summarise"))
        wait_for_model(client, "summarise")
        r = client.chat.completions.create(model="summarise", messages=[{"role": "user", "content": "hi"}])
        assert r.switchyard.model == "summarise"
    assert cache.exists()
    assert cache.stat().st_mode & 0o077 == 0  # owner-only: it may hold provider keys

    # The server "moves": a client on a dead address starts from the cache file ...
    dead = f"http://127.0.0.1:{free_port()}"
    with Switchyard(server=dead, api_key=app_key, config_cache=cache) as client:
        assert "summarise" in client.config()["models"]
    # ... and without one it cannot start, and says why.
    with pytest.raises(switchyard.NetworkError):
        Switchyard(server=dead, api_key=app_key)


def test_the_async_client_takes_its_config_from_the_server(
    management: Management, app_key: str, mock: Mock
) -> None:
    session = mock.session({"models": {"*": [{"content": "async from the server"}]}})
    management.activate(config_with(session, "translate"))

    async def main() -> str:
        async with AsyncSwitchyard(server=management.url, api_key=app_key) as client:
            r = await client.chat.completions.create(
                model="translate", messages=[{"role": "user", "content": "hi"}]
            )
            return str(r.choices[0].message.content)

    assert asyncio.run(main()) == "async from the server"


def test_a_wrong_key_is_an_authentication_error(management: Management) -> None:
    with pytest.raises(switchyard.AuthenticationError):
        Switchyard(server=management.url, api_key="sy_not_a_real_key")


def test_the_server_can_come_from_the_environment(
    management: Management, app_key: str, mock: Mock, monkeypatch: pytest.MonkeyPatch
) -> None:
    management.activate(config_with(mock.session()))
    monkeypatch.delenv("SWITCHYARD_CONFIG", raising=False)
    monkeypatch.setenv("SWITCHYARD_SERVER", management.url)
    monkeypatch.setenv("SWITCHYARD_API_KEY", app_key)
    with Switchyard() as client:
        assert client.config()["identity"]["app"] == "checkout"


def test_the_constructor_refuses_mixed_or_partial_sources() -> None:
    with pytest.raises(TypeError):
        Switchyard(config={"version": 1}, server="http://127.0.0.1:1", api_key="k")
    with pytest.raises(TypeError):
        Switchyard(server="http://127.0.0.1:1")
    with pytest.raises(TypeError):
        AsyncSwitchyard(api_key="k")
