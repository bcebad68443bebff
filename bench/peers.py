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
from .llm_client import AGUI, ANTHROPIC, OPENAI, RESPONSES
from .servers import REPO, ServerKind

PEERS = REPO / "bench" / "peers"
AIMOCK_CLI = PEERS / "node_modules" / "@copilotkit" / "aimock" / "dist" / "cli.js"
AIMOCK_CONFIG_CLI = AIMOCK_CLI.with_name("aimock-cli.js")
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


def _agui_events(config: ServerConfig) -> list[dict[str, object]]:
    """The AG-UI run aimock replays: the answer as ``chunks`` content events (AG-UI fixtures
    are whole event lists; aimock has no chunk size for them)."""
    ids = {"threadId": "bench", "runId": "run"}
    size = config.chunk_bytes
    parts = [config.answer[start : start + size] for start in range(0, len(config.answer), size)]
    content: list[dict[str, object]] = [
        {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m", "delta": part} for part in parts
    ]
    return [
        {"type": "RUN_STARTED", **ids},
        {"type": "TEXT_MESSAGE_START", "messageId": "m", "role": "assistant"},
        *content,
        {"type": "TEXT_MESSAGE_END", "messageId": "m"},
        {"type": "RUN_FINISHED", **ids},
    ]


def _aimock_agui(config: ServerConfig, folder: Path, bind: str) -> list[str]:
    """aimock's config-driven ``aimock`` command with an AG-UI agent at ``/agui`` (its
    ``llmock`` command mounts AG-UI only to record or proxy a real agent)."""
    fixture: dict[str, object] = {"match": {}, "events": _agui_events(config)}
    if config.chunk_delay:
        fixture["delayMs"] = round(config.chunk_delay * 1000)
    document = {"agui": {"path": "/agui", "fixtures": [fixture]}, "llm": {"logLevel": "silent"}}
    path = folder / "aimock.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    host, port = _host_port(bind)
    node = shutil.which("node") or "node"
    return [node, str(AIMOCK_CONFIG_CLI), "--config", str(path), "--host", host, "--port", port]


def _aimock(config: ServerConfig, folder: Path, bind: str) -> list[str]:
    if config.dialect == AGUI.name:
        return _aimock_agui(config, folder, bind)
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
# content_block_start, then text; Responses: response.created, .in_progress,
# .output_item.added, .content_part.added, then text) and, for AG-UI, after every event
# (RUN_STARTED, TEXT_MESSAGE_START, then text); llm-mock-api sends the first frame at once and
# waits after every frame. Neither speaks the AI SDK's UI message stream (aimock's /api/chat
# is Ollama's chat API).
AIMOCK = ServerKind(
    "aimock",
    _aimock,
    frozenset({OPENAI.name, ANTHROPIC.name, RESPONSES.name, AGUI.name}),
    {OPENAI.name: 2, ANTHROPIC.name: 3, RESPONSES.name: 5, AGUI.name: 2},
    _aimock_missing,
)
LLM_MOCK_API_KIND = ServerKind(
    "llm-mock-api",
    _llm_mock_api,
    frozenset({OPENAI.name, ANTHROPIC.name, RESPONSES.name}),
    {OPENAI.name: 1, ANTHROPIC.name: 2, RESPONSES.name: 4},
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
