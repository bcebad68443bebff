"""Debian's nginx, started on a free port with the shipped deploy/nginx.conf in front of a
quart-qa server: only the addresses, the certificate paths and the read timeout change."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.support.apps import ROOT
from tests.support.live_server import free_port, wait_for_port
from tests.support.tls import TlsFiles

SHIPPED_CONFIG = ROOT / "deploy" / "nginx.conf"
START_TIMEOUT = 30.0  # a guard, not a measure: a loaded machine starts slowly
STOP_TIMEOUT = 5.0

# The main context the shipped server block goes into: a pid file, logs and temporary
# files in the test's folder, and nginx in the foreground so the test owns the process.
MAIN_CONFIG = """daemon off;
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/error.log info;
events {{
    worker_connections 256;
}}
http {{
    access_log off;
    client_body_temp_path {folder}/client_body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    include {folder}/quart-qa.conf;
}}
"""


def nginx_program() -> str | None:
    """Where nginx is (Debian puts it in /usr/sbin, outside a normal user's PATH)."""
    return shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin")


def site_config(upstream_port: int, port: int, tls: TlsFiles, read_timeout: str) -> str:
    """The shipped server block, with each of its deployment-specific values replaced once."""
    text = SHIPPED_CONFIG.read_text(encoding="utf-8")
    for shipped, ours in (
        ("listen 443 ssl http2;", f"listen 127.0.0.1:{port} ssl http2;"),
        ("server 127.0.0.1:8000;", f"server 127.0.0.1:{upstream_port};"),
        ("/etc/ssl/quart-qa/fullchain.pem", str(tls.cert)),
        ("/etc/ssl/quart-qa/privkey.pem", str(tls.key)),
        ("proxy_read_timeout 60s;", f"proxy_read_timeout {read_timeout};"),
    ):
        assert text.count(shipped) == 1, f"deploy/nginx.conf no longer has {shipped!r} once"
        text = text.replace(shipped, ours)
    return text


@dataclass(frozen=True)
class Nginx:
    """A running nginx: where to reach it, and its error log."""

    port: int
    error_log: Path

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"


@contextlib.contextmanager
def nginx_in_front(
    program: str, upstream_port: int, tls: TlsFiles, folder: Path, read_timeout: str
) -> Iterator[Nginx]:
    """nginx with the shipped config, proxying to ``upstream_port``, until the block ends."""
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    (folder / "quart-qa.conf").write_text(site_config(upstream_port, port, tls, read_timeout))
    (folder / "nginx.conf").write_text(MAIN_CONFIG.format(folder=folder))
    nginx = Nginx(port, folder / "error.log")
    process = subprocess.Popen(
        [program, "-p", str(folder), "-c", str(folder / "nginx.conf"), "-e", str(nginx.error_log)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        try:
            wait_for_port(port, process, START_TIMEOUT)
        except (RuntimeError, TimeoutError) as error:
            log = nginx.error_log.read_text() if nginx.error_log.exists() else "(no log)"
            raise RuntimeError(f"nginx did not start: {error}\n{log}") from None
        yield nginx
    finally:
        process.terminate()  # SIGTERM: nginx's fast shutdown
        try:
            process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
