"""The shipped systemd unit starts a command quart-qa accepts, with the limits docs/deploy.md
gives."""

from __future__ import annotations

import configparser
import shlex

from quart_qa.cli import argument_parser
from tests.support.apps import ROOT

UNIT = ROOT / "deploy" / "quart-qa.service"


def unit() -> configparser.ConfigParser:
    parsed = configparser.ConfigParser(interpolation=None, strict=False)
    parsed.optionxform = str  # type: ignore[assignment,method-assign]  # keys keep their case
    parsed.read_string(UNIT.read_text(encoding="utf-8"))
    return parsed


def test_exec_start_is_a_serve_command_quart_qa_accepts() -> None:
    program, *args = shlex.split(unit()["Service"]["ExecStart"])
    assert program.endswith("/bin/quart-qa")
    options = argument_parser().parse_args(args)
    assert options.command == "serve"
    assert options.bind.startswith("127.0.0.1:")  # behind nginx, on loopback


def test_room_for_many_streams_and_a_clean_stop() -> None:
    service = unit()["Service"]
    assert int(service["LimitNOFILE"]) >= 65536
    # SIGTERM ends every stream within shutdown_grace (2 s by default) + 3 s.
    assert service["KillSignal"] == "SIGTERM"
    assert int(service["TimeoutStopSec"]) > 5
