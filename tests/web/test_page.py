"""The chat page's own HTTP surface: its security headers and its vendored libraries."""

from __future__ import annotations

import json

import pytest
from quart.typing import TestClientProtocol as Client

from tests.support.apps import ROOT
from tests.support.node import package_file

VENDOR = ROOT / "static" / "vendor"


async def test_page_is_served_under_a_strict_content_security_policy(client: Client) -> None:
    response = await client.get("/")
    assert response.status_code == 200
    policy = response.headers["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["default-src"] == "'self'"
    assert directives["object-src"] == "'none'"
    assert "script-src" not in directives, "scripts fall back to 'self': no inline, no eval"


@pytest.mark.parametrize(
    ("vendored", "package", "original"),
    [
        ("marked/marked.esm.js", "marked", "lib/marked.esm.js"),
        ("marked/LICENSE", "marked", "LICENSE"),
        ("dompurify/purify.es.mjs", "dompurify", "dist/purify.es.mjs"),
        ("dompurify/LICENSE", "dompurify", "LICENSE"),
        ("dompurify/LICENSE-MPL", "dompurify", "LICENSE-MPL"),
    ],
)
def test_vendored_files_are_the_pinned_npm_packages_unchanged(
    vendored: str, package: str, original: str
) -> None:
    assert (VENDOR / vendored).read_bytes() == package_file(package, original).read_bytes()


def test_vendored_versions_match_the_readme() -> None:
    readme = (VENDOR / "README.md").read_text(encoding="utf-8")
    for package in ("marked", "dompurify"):
        manifest = package_file(package, "package.json").read_text(encoding="utf-8")
        version = json.loads(manifest)["version"]
        assert f"| {version} |" in readme, f"{package} {version} is not the README's version"
