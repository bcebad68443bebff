"""The one error type for unusable configuration."""

from __future__ import annotations


class ConfigError(Exception):
    """A configuration that cannot be used; ``str()`` is the one-line message for users."""

    def __init__(self, where: str, problem: str, *, source: str | None = None) -> None:
        self.where = where
        self.problem = problem
        self.source = source
        super().__init__(self._format())

    def _format(self) -> str:
        location = f"{self.where}: " if self.where else ""
        prefix = f"{self.source}: " if self.source else ""
        # Keys and values come from the file: a line break in them must not break the line.
        text = f"{prefix}{location}{self.problem}"
        return text.replace("\r", "\\r").replace("\n", "\\n")

    def with_source(self, source: str) -> ConfigError:
        """The same error, naming the file it came from."""
        return ConfigError(self.where, self.problem, source=source)
