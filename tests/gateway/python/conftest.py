"""The gateway the tests talk to: the harness's mock provider and server, once per run."""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys
import tempfile
from typing import Any, Dict, Iterator

import pytest

HARNESS = pathlib.Path(__file__).resolve().parents[1] / "harness.py"


@pytest.fixture(scope="session")
def gateway() -> Iterator[Dict[str, Any]]:
    run = pathlib.Path(tempfile.mkdtemp(prefix="switchyard-gateway-py-"))
    try:
        subprocess.run([sys.executable, str(HARNESS), "start", str(run)], check=True, stdout=subprocess.DEVNULL)
        yield json.loads((run / "env.json").read_text())
    finally:
        subprocess.run([sys.executable, str(HARNESS), "stop", str(run)], check=False)
