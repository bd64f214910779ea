"""schemathesis against the real server binary's /openapi.json: every operation, as each
of the six roles, as a server operator, and (for the /sdk and /v1 routes) as an app key.
Passes only with 0 server errors and 0 responses that break the document's schema.

Usage: schemathesis_run.py SERVER_BIN [--max-examples N]. The server runs on a fresh
SQLite database with its own master key; a mock provider (SWITCHYARD_MOCK_BIN, when set)
answers the gateway's calls, so a 5xx there is the server's own error, not a missing
upstream.
"""

import argparse
import base64
import json
import shutil
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from typing import Any, Dict, List, Optional

ROLES = ["infra_admin", "model_ops", "interface_dev", "resource_manager", "security_engineer", "app_developer"]
CHECKS = "not_a_server_error,response_schema_conformance"
ALL_PHASES = "examples,coverage,fuzzing"
PASSWORD = "schemathesis-pw-1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(url: str, proc: subprocess.Popen) -> None:
    for _ in range(400):
        if proc.poll() is not None:
            sys.exit(f"{url}: the process exited ({proc.returncode})")
        try:
            urllib.request.urlopen(f"{url}/readyz", timeout=1).close()
            return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.05)
    sys.exit(f"{url} did not get ready")


def api(url: str, method: str, path: str, token: Optional[str], body: Any = None) -> Any:
    req = urllib.request.Request(f"{url}{path}", method=method)
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, data=data, timeout=30) as r:
        text = r.read()
    return json.loads(text) if text else None


def setup(url: str, admin: str, mock: Optional[str]) -> Dict[str, str]:
    """A token per role, the operator's, and an app key; the gateway's config active."""
    tokens = {"operator": admin}
    for role in ROLES:
        user = api(url, "POST", "/api/v1/users", admin, {"username": role, "password": PASSWORD})
        api(url, "POST", f"/api/v1/users/{user['id']}/bindings", admin, {"role": role})
        tokens[role] = api(url, "POST", "/api/v1/auth/login", None,
                           {"tenant": "acme", "username": role, "password": PASSWORD})["token"]
    root = api(url, "GET", "/api/v1/departments", admin)["items"][0]["id"]
    app = api(url, "POST", "/api/v1/apps", admin, {"department_id": root, "name": "fuzzed"})
    tokens["app_key"] = api(url, "POST", f"/api/v1/apps/{app['id']}/keys", admin, {"name": "sdk"})["secret"]
    base = "http://127.0.0.1:9/v1"
    if mock:
        session = api(mock, "POST", "/_mock/sessions", None, {})
        base = f"{mock}/s/{session['id']}/v1"
    document = {
        "version": 1,
        "providers": {"mock": {"kind": "openai", "base_url": base}},
        "models": {
            "chat": {"deployments": [{"provider": "mock", "model": "gpt-4o-mini"}]},
            "embed": {"type": "embedding", "deployments": [{"provider": "mock", "model": "text-embedding-3-small"}]},
        },
    }
    version = api(url, "POST", "/api/v1/configs", admin, {"document": document})
    api(url, "POST", f"/api/v1/configs/{version['id']}/activate", admin)
    return tokens


def run(url: str, who: str, token: str, max_examples: int, out: str, paths: str, phases: str,
        *extra: str) -> bool:
    cmd = [
        os.path.join(os.path.dirname(os.path.abspath(sys.executable)), "schemathesis"), "run", f"{url}/openapi.json",
        "--checks", CHECKS, "--max-examples", str(max_examples), "--workers", "2",
        "--phases", phases, "--seed", "24", "--suppress-health-check", "all",
        "--include-path-regex", paths, "-H", f"Authorization: Bearer {token}",
        "--report", "junit,har", "--report-dir", out, "--no-color", *extra,
    ]
    print(f"== as {who}: {paths}", flush=True)
    # schemathesis keeps a cache in its working directory: the run's own.
    return subprocess.run(cmd, cwd=out_root(out)).returncode == 0


def ok_to_clean(work: str) -> bool:
    """Kept when something failed (the path was printed), else removed."""
    return not os.path.exists(os.path.join(work, "keep"))


def out_root(out: str) -> str:
    os.makedirs(out, exist_ok=True)
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("server_bin")
    ap.add_argument("--max-examples", type=int, default=5)
    ap.add_argument("--as", dest="only", default=None, help="one principal only")
    ap.add_argument("--role-phases", default="fuzzing",
                    help="phases for the six roles (the operator and the app key get every phase: "
                    "the coverage phase's thousands of boundary cases would repeat as 403s)")
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="switchyard-schemathesis-")
    env = dict(os.environ)
    env["SWITCHYARD_MASTER_KEY"] = base64.b64encode(os.urandom(32)).decode()
    env.setdefault("RUST_LOG", "error")
    db = f"sqlite://{work}/switchyard.db"
    init = subprocess.run([args.server_bin, "--database-url", db, "init", "--tenant", "acme",
                           "--password", PASSWORD], capture_output=True, text=True, check=True, env=env)
    admin = next(l.split(":", 1)[1].strip() for l in init.stdout.splitlines() if l.startswith("token:"))
    procs: List[subprocess.Popen] = []
    mock = None
    try:
        if os.environ.get("SWITCHYARD_MOCK_BIN"):
            procs.append(subprocess.Popen([os.environ["SWITCHYARD_MOCK_BIN"], "--addr", "127.0.0.1:0"],
                                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True))
            line = procs[-1].stdout.readline().strip() if procs[-1].stdout else ""
            if not line.startswith("listening on "):
                sys.exit(f"mock did not start: {line!r}")
            mock = line[len("listening on "):]
        addr = f"127.0.0.1:{free_port()}"
        log = open(f"{work}/server.log", "w")
        procs.append(subprocess.Popen([args.server_bin, "--database-url", db, "serve", "--listen", addr],
                                      stdout=log, stderr=log, env=env))
        url = f"http://{addr}"
        wait_ready(url, procs[-1])
        tokens = setup(url, admin, mock)
        ok = True
        for who in ["operator"] + ROLES + ["app_key"]:
            if args.only and who != args.only:
                continue
            paths = "^/(sdk|v1)/" if who == "app_key" else "^/(api/v1|healthz|readyz|metrics)"
            # Signing out revokes the token the run goes on with: tested last, on its own.
            phases = args.role_phases if who in ROLES else ALL_PHASES
            ok = run(url, who, tokens[who], args.max_examples, f"{work}/{who}", paths, phases,
                     "--exclude-path", "/api/v1/auth/logout") and ok
        if not args.only:
            fresh = api(url, "POST", "/api/v1/auth/login", None,
                        {"tenant": "acme", "username": "admin", "password": PASSWORD})["token"]
            ok = run(url, "a session signing out", fresh, args.max_examples, f"{work}/logout",
                     "^/api/v1/auth/logout$", ALL_PHASES) and ok
        if procs[-1].poll() is not None:
            print("the server died during the run", file=sys.stderr)
            ok = False
        if not ok:
            open(os.path.join(work, "keep"), "w").close()
            print(f"reports (HAR, JUnit) and the server log: {work}")
        return 0 if ok else 1
    finally:
        for p in procs:
            p.terminate()
            p.wait(timeout=30)
        if ok_to_clean(work):
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
