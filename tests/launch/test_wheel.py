"""quart-qa's wheel carries the chat page and the shipped configs, and lists them installed.

The installed server serving the page and answering from a shipped config by name is in
tests/browser/test_installed_page.py.
"""

from __future__ import annotations

import subprocess
import zipfile
from pathlib import Path

import pytest

from tests.support.apps import ROOT
from tests.support.wheel import InstalledWheel

pytestmark = pytest.mark.timeout(180)  # the first test builds the wheel

# Where the repo's files lie in the wheel: folder in the package, folder in the repo, pattern.
SHIPPED = (
    ("quart_qa/web/static", ROOT / "static", "**/*"),
    ("quart_qa/settings/shipped_configs", ROOT / "config", "*.toml"),
)
SHIPPED_CONFIGS = sorted(path.stem for path in (ROOT / "config").glob("*.toml"))


def test_the_wheel_carries_the_page_and_the_configs(installed_wheel: InstalledWheel) -> None:
    with zipfile.ZipFile(installed_wheel.wheel) as wheel:
        for inside, folder, pattern in SHIPPED:
            files = [path for path in folder.glob(pattern) if path.is_file()]
            assert files, folder
            for path in files:
                name = f"{inside}/{path.relative_to(folder).as_posix()}"
                assert wheel.read(name) == path.read_bytes(), name


def test_configs_lists_the_shipped_configs(installed_wheel: InstalledWheel, tmp_path: Path) -> None:
    result = subprocess.run(
        [str(installed_wheel.quart_qa), "configs"],
        cwd=tmp_path,  # no checkout here
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    output = result.stdout
    listed = [line.split()[0] for line in output.splitlines()[: len(SHIPPED_CONFIGS)]]
    assert listed == SHIPPED_CONFIGS
    demo = next(line for line in output.splitlines() if line.startswith("english-demo "))
    assert "An English assistant that streams word by word" in demo
    # Found in the installed package (real files there), not in a checkout.
    assert f"(in {installed_wheel.site_packages}/quart_qa/settings/shipped_configs;" in output
