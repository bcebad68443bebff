"""Node.js and the npm packages of tests/node (installed by ``make test`` with ``npm ci``).

Tests that drive JavaScript clients for real (the AI SDK, AG-UI) run a script there and read
one JSON object from its stdout. A missing Node or an uninstalled tests/node is a skip on a
laptop and a failure under CI=true.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from .apps import IN_CI, ROOT

NODE_DIR = ROOT / "tests" / "node"
NODE_MODULES = NODE_DIR / "node_modules"


def require_node() -> str:
    """The ``node`` program, once tests/node's packages are installed."""
    node = shutil.which("node")
    problem = None
    if node is None:
        problem = "node is not installed (scripts/ensure-system-deps.sh installs it)"
    elif not (NODE_MODULES / ".package-lock.json").is_file():
        problem = "tests/node has no node_modules (make test runs npm ci there)"
    if problem is not None:
        if IN_CI:
            pytest.fail(f"{problem} (CI=true: a missing Node is a failure)", pytrace=False)
        pytest.skip(problem)
    assert node is not None
    return node


def run_node(script: str, *args: str, timeout: float = 30.0) -> Any:
    """Run ``tests/node/<script>`` with ``args``; its stdout parsed as JSON."""
    node = require_node()
    done = subprocess.run(
        [node, str(NODE_DIR / script), *args],
        cwd=NODE_DIR,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise AssertionError(f"{script} exited with {done.returncode}:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout)


def package_file(package: str, path: str) -> Path:
    """A file of an installed npm package."""
    require_node()
    return NODE_MODULES / package / path
