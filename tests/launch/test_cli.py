"""``quart-qa configs`` and configs named on the command line, run in this process."""

from __future__ import annotations

import pytest

from quart_qa.cli import main
from quart_qa.settings.shipped import shipped_configs


def test_configs_lists_every_shipped_config_with_its_summary(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["configs"]) == 0
    lines = capsys.readouterr().out.splitlines()
    for config, line in zip(shipped_configs(), lines, strict=False):
        assert line.split(maxsplit=1) == [config.name, config.summary]
    assert lines[-1].endswith("run one: quart-qa serve --config NAME)")


def test_check_config_takes_a_name(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-config", "failure-demo"]) == 0
    output = capsys.readouterr().out
    assert "failure-demo.toml: OK" in output
    assert "on_busy=reject" in output


def test_serve_refuses_an_unknown_name_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--config", "englsh-demo"]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("quart-qa: config error: englsh-demo: no such file, nor a shipped")
    assert "\n" not in error
