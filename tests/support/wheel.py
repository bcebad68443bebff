"""Build quart-qa's wheel and install it, not editable, in a fresh virtual environment.

Offline and quick, so a test session can afford it once: the wheel is built without build
isolation (the test environment has setuptools), from a copy of the checkout so that no
stale ``build/`` folder leaks into it; the fresh environment reaches its dependencies
through a path entry to the test environment's site-packages (a ``.pth`` line, so that
environment's own ``.pth`` files, among them the editable install's import hook, do not
run) and pip installs the wheel there with ``--no-index``: a dependency the wheel declares
but nothing provides fails the install.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

from tests.support.apps import ROOT

# What a clean checkout does not have, or a build must not see.
_NOT_SOURCE = shutil.ignore_patterns(
    ".git",
    ".venv",
    "build",
    "dist",
    "*.egg-info",
    "__pycache__",
    ".*_cache",
    ".hypothesis",
    "artifacts",
    "node_modules",
    "results",
)
BUILD_TIMEOUT = 120.0


@dataclass(frozen=True)
class InstalledWheel:
    """A wheel and the fresh virtual environment it is installed in."""

    wheel: Path
    prefix: Path

    @property
    def quart_qa(self) -> Path:
        """The installed ``quart-qa`` command."""
        return self.prefix / "bin" / "quart-qa"

    @property
    def python(self) -> Path:
        return self.prefix / "bin" / "python"

    @property
    def site_packages(self) -> Path:
        version = f"python{sys.version_info.major}.{sys.version_info.minor}"
        return self.prefix / "lib" / version / "site-packages"


def _run(*command: str | Path, cwd: Path) -> None:
    result = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"{command} failed:\n{result.stdout}\n{result.stderr}")


def build_wheel(workdir: Path) -> Path:
    """quart-qa's wheel, built from a copy of the checkout in ``workdir``."""
    source = workdir / "source"
    shutil.copytree(ROOT, source, symlinks=True, ignore=_NOT_SOURCE)
    wheels = workdir / "wheels"
    pip = (sys.executable, "-m", "pip")
    _run(*pip, "wheel", "--quiet", "--no-build-isolation", "--no-deps", "--no-index",
         "--wheel-dir", wheels, source, cwd=workdir)  # fmt: skip
    (wheel,) = wheels.glob("quart_qa-*.whl")
    return wheel


def install_wheel(wheel: Path, workdir: Path) -> InstalledWheel:
    """``wheel`` installed in a new virtual environment under ``workdir``."""
    installed = InstalledWheel(wheel, workdir / "venv")
    _run(sys.executable, "-m", "venv", "--without-pip", installed.prefix, cwd=workdir)
    dependencies = Path(sysconfig.get_paths()["purelib"])
    (installed.site_packages / "test-dependencies.pth").write_text(f"{dependencies}\n")
    _run(sys.executable, "-m", "pip", "--python", installed.python, "install", "--quiet",
         "--no-index", "--no-cache-dir", wheel, cwd=workdir)  # fmt: skip
    return installed
