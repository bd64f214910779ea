"""Every scenario file in tests/conformance/scenarios/ and scenarios-next/ (discovered at
collection, so new files are picked up), run blocking and with asyncio."""

from __future__ import annotations

import os
import pathlib

import pytest

from conftest import ROOT, Mock
from scenario_runner import run_scenario

# SWITCHYARD_SCENARIO_DIRS (os.pathsep-separated) runs other folders instead.
DIRS = [
    pathlib.Path(d)
    for d in os.environ.get("SWITCHYARD_SCENARIO_DIRS", "").split(os.pathsep)
    if d
] or [ROOT / "tests" / "conformance" / "scenarios", ROOT / "tests" / "conformance" / "scenarios-next"]
FILES = sorted(p for d in DIRS for pattern in ("*.yaml", "*.yml") for p in d.glob(pattern))
SCENARIOS = DIRS[0]


def test_scenarios_found() -> None:
    assert FILES, f"no scenario files in {SCENARIOS}"


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_scenario(mock: Mock, path: pathlib.Path, mode: str) -> None:
    run_scenario(mock, path.read_text(), mode)
