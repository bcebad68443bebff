"""How every client command registers itself: its help line, its description and examples."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, TypeAlias

if TYPE_CHECKING:
    Subcommands: TypeAlias = argparse._SubParsersAction[argparse.ArgumentParser]
else:  # the class is not subscriptable at run time
    Subcommands = argparse._SubParsersAction


def add_command(
    commands: Subcommands, name: str, *, summary: str, description: str, examples: str
) -> argparse.ArgumentParser:
    """A sub-command whose ``--help`` keeps the description's and the examples' lines."""
    return commands.add_parser(
        name,
        help=summary,
        description=description,
        epilog=examples,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
