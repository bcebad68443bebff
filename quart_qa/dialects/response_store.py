"""The Responses API's memory of past responses, for ``previous_response_id``.

Bounded: past the limit the oldest response is forgotten, so memory stays flat however long
the server runs. Items are found by id too, for ``item_reference`` input items.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

MAX_STORED_RESPONSES = 256

Item = dict[str, Any]


class ResponseStore:
    """``store.remember(id, items)``; ``store.items(id)`` gives them back while remembered."""

    def __init__(self, limit: int = MAX_STORED_RESPONSES) -> None:
        self.limit = limit
        self._responses: OrderedDict[str, tuple[Item, ...]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._responses)

    def remember(self, response_id: str, items: Sequence[Item]) -> None:
        """Keep a response's whole conversation: the items before it, then its output."""
        self._responses[response_id] = tuple(items)
        while len(self._responses) > self.limit:
            self._responses.popitem(last=False)

    def items(self, response_id: str) -> tuple[Item, ...] | None:
        """The conversation up to and including ``response_id``; None once forgotten."""
        return self._responses.get(response_id)

    def item(self, item_id: str) -> Item | None:
        """The newest remembered item with ``item_id``."""
        for items in reversed(self._responses.values()):
            for item in items:
                if item.get("id") == item_id:
                    return item
        return None
