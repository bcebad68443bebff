"""``python -m quart_qa`` is ``quart-qa``."""

from __future__ import annotations

from .cli import main

raise SystemExit(main())
