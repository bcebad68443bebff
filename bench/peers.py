"""The mock LLM servers the API cases compare quart-qa with, as people run them.

- **aimock** (``@copilotkit/aimock`` from npm, its fixture-driven ``llmock`` command on Node),
  installed into ``bench/peers/node_modules`` from the pinned ``package-lock.json``;
- **llm-mock-api** (PyPI: FastAPI on uvicorn with httptools, as its ``start`` command runs
  it), installed into its own virtualenv ``.venv/bench-peers`` from
  ``bench/peers/requirements.txt``.

``bench/peers/install.sh`` (``make bench`` runs it) installs both; ``make test`` never does.
Each is scripted to send the same answer as quart-qa: the answer text as one reply, cut into
``chunk_bytes``-character deltas, ``chunk_delay`` apart (their ``--latency`` in ms).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from .configs import ServerConfig
from .llm_client import ANTHROPIC, OPENAI
from .servers import REPO, ServerKind

PEERS = REPO / "bench" / "peers"
AIMOCK_CLI = PEERS / "node_modules" / "@copilotkit" / "aimock" / "dist" / "cli.js"
PEER_VENV = REPO / ".venv" / "bench-peers"
LLM_MOCK_API = PEER_VENV / "bin" / "llm-mock-api"
INSTALL_HINT = "run bash bench/peers/install.sh (make bench does)"


def _host_port(bind: str) -> tuple[str, str]:
    host, _, port = bind.rpartition(":")
    return host, port


def _latency_ms(config: ServerConfig) -> str:
    return str(round(config.chunk_delay * 1000))


def _aimock_missing() -> str | None:
    if shutil.which("node") is None:
        return "node is not installed; " + INSTALL_HINT
    if not AIMOCK_CLI.exists():
        return f"{AIMOCK_CLI.relative_to(REPO)} is missing; " + INSTALL_HINT
    return None


def _aimock(config: ServerConfig, folder: Path, bind: str) -> list[str]:
    fixtures = folder / "fixtures.json"
    document = {"fixtures": [{"match": {}, "response": {"content": config.answer}}]}
    fixtures.write_text(json.dumps(document), encoding="utf-8")
    host, port = _host_port(bind)
    node = shutil.which("node") or "node"
    return [
        *(node, str(AIMOCK_CLI), "--host", host, "--port", port, "--fixtures", str(fixtures)),
        *("--latency", _latency_ms(config), "--chunk-size", str(config.chunk_bytes)),
        *("--log-level", "silent"),
    ]


def _llm_mock_api_missing() -> str | None:
    if not LLM_MOCK_API.exists():
        return f"{LLM_MOCK_API.relative_to(REPO)} is missing; " + INSTALL_HINT
    return None


def _llm_mock_api(config: ServerConfig, folder: Path, bind: str) -> list[str]:
    rules = folder / "rules.json5"
    rules.write_text(json.dumps({"rules": [], "fallback": config.answer}), encoding="utf-8")
    host, port = _host_port(bind)
    return [
        *(str(LLM_MOCK_API), "start", "--config", str(folder / "none.json")),
        *("--host", host, "--port", port, "--rules", str(rules)),
        *("--latency", _latency_ms(config), "--chunk-size", str(config.chunk_bytes)),
        *("--log-level", "none"),
    ]


# Paces before the first content delta, as measured one stream at a time: aimock waits its
# latency before every frame (OpenAI: role chunk, then text; Anthropic: message_start,
# content_block_start, then text); llm-mock-api sends the first frame at once and waits
# after every frame.
AIMOCK = ServerKind(
    "aimock",
    _aimock,
    frozenset({OPENAI.name, ANTHROPIC.name}),
    {OPENAI.name: 2, ANTHROPIC.name: 3},
    _aimock_missing,
)
LLM_MOCK_API_KIND = ServerKind(
    "llm-mock-api",
    _llm_mock_api,
    frozenset({OPENAI.name, ANTHROPIC.name}),
    {OPENAI.name: 1, ANTHROPIC.name: 2},
    _llm_mock_api_missing,
)
PEER_KINDS = (AIMOCK, LLM_MOCK_API_KIND)


def peer_versions() -> dict[str, str]:
    """The installed version of each peer and of the Node that runs aimock."""
    versions = {"aimock": "not installed", "llm-mock-api": "not installed", "node": "not installed"}
    manifest = AIMOCK_CLI.parent.parent / "package.json"
    if manifest.exists():
        versions["aimock"] = json.loads(manifest.read_text(encoding="utf-8"))["version"]
    for metadata in PEER_VENV.glob("lib/python*/site-packages/llm_mock_api-*.dist-info"):
        versions["llm-mock-api"] = metadata.name.removesuffix(".dist-info").split("-")[1]
    node = shutil.which("node")
    if node is not None:
        result = subprocess.run([node, "--version"], capture_output=True, text=True, check=False)
        versions["node"] = result.stdout.strip()
    return versions
