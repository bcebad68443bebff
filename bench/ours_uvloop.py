"""quart-qa on uvloop, as one benchmark "server": the experiment of Hypercorn's uvloop worker.

``python -m bench.ours_uvloop --config C --bind B`` serves exactly as ``quart-qa serve`` does
(:func:`quart_qa.server.serve_app`), on a uvloop event loop instead of asyncio's, which is
what Hypercorn's ``worker_class = "uvloop"`` does. Not in the default runs: name it with
``--server quart-qa-uvloop``.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from .configs import ServerConfig
from .llm_client import DIALECTS
from .servers import OURS, ServerKind, toml_config


def main(argv: list[str] | None = None) -> None:
    """Serve ``--config`` on ``--bind`` until SIGTERM."""
    parser = argparse.ArgumentParser(prog="python -m bench.ours_uvloop")
    parser.add_argument("--config", required=True, type=Path)
    parser.add_argument("--bind", required=True)
    args = parser.parse_args(argv)
    import uvloop  # here: the load client that names this server never imports the server

    from quart_qa.server import serve_app
    from quart_qa.settings.config import load_settings

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    uvloop.run(serve_app(load_settings(str(args.config)), args.bind))


def _command(config: ServerConfig, folder: Path, bind: str) -> list[str]:
    path = toml_config(config, folder)
    return [sys.executable, "-m", "bench.ours_uvloop", "--config", str(path), "--bind", bind]


OURS_UVLOOP = ServerKind("quart-qa-uvloop", _command, OURS.speaks, dict.fromkeys(DIALECTS, 1))

if __name__ == "__main__":
    main()
