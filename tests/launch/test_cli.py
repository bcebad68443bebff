"""The command line, run in this process: ``configs``, configs by name, and the TLS options
refused before anything listens."""

from __future__ import annotations

from pathlib import Path

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


@pytest.mark.parametrize(
    ("options", "problem"),
    [
        (["--certfile", "cert.pem"], "server.keyfile: certfile and keyfile go together"),
        (["--quic-bind", "127.0.0.1:0"], "server.quic_bind: HTTP/3 needs TLS"),
        (["--certfile", "absent.pem", "--keyfile", "absent.pem"], "cannot use certfile"),
    ],
)
def test_unusable_tls_options_stop_serve_in_one_line(
    options: list[str], problem: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["serve", "--bind", "127.0.0.1:0", *options]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("quart-qa: config error: ")
    assert problem in error
    assert "\n" not in error


def test_a_key_that_is_not_the_certificates_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "cert.pem").write_text("not a certificate\n", encoding="utf-8")
    options = ["--certfile", str(tmp_path / "cert.pem"), "--keyfile", str(tmp_path / "cert.pem")]
    assert main(["serve", "--bind", "127.0.0.1:0", *options]) == 2
    assert "cannot use certfile" in capsys.readouterr().err
