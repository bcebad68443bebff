"""The example configs shipped inside the package, found by name (``english-demo``).

``shipped_configs/`` is a link to the repo's ``config/`` in a checkout and a real folder in
the wheel, so an installed ``quart-qa`` finds them wherever it runs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .errors import ConfigError

SHIPPED_CONFIG_DIR = Path(__file__).parent / "shipped_configs"


@dataclass(frozen=True)
class ShippedConfig:
    """One shipped config: its name, where it lies, and the first line of its comment."""

    name: str
    path: Path
    summary: str


def _summary(path: Path) -> str:
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            return line.lstrip("#").strip()
    return ""


def shipped_configs() -> list[ShippedConfig]:
    """Every shipped config, by name."""
    return [
        ShippedConfig(path.stem, path, _summary(path))
        for path in sorted(SHIPPED_CONFIG_DIR.glob("*.toml"))
    ]


def config_file(path_or_name: str) -> Path:
    """``path_or_name`` when it is a file, else the shipped config of that name."""
    path = Path(path_or_name)
    if path.is_file():
        return path
    shipped = SHIPPED_CONFIG_DIR / f"{path_or_name}.toml"
    if path.name == path_or_name and shipped.is_file():
        return shipped
    names = ", ".join(config.name for config in shipped_configs())
    raise ConfigError(
        "", f"no such file, nor a shipped config of that name (shipped: {names})", source=str(path)
    )
