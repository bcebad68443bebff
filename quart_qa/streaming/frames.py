"""Pre-encoded frames: a frame of a dialect rendered once, then only what varies filled per use.

A dialect's text delta is the same JSON frame every time but for one string (and, in some
dialects, a counter); the frames that open and close a stream differ between streams only in
their ids. Rendering them through dicts, ``json.dumps`` and the SSE encoder every time is most
of a frame's cost. A :class:`Template` renders the frame once with a marker in each varying
place and afterwards joins the fixed bytes around the values (strings JSON-escaped, integers
as digits), byte for byte what the full encoder gives. A :class:`TextFrame` is the hot case:
one string, everything else fixed.
"""

from __future__ import annotations

from collections.abc import Callable
from json.encoder import encode_basestring

from .sse import utf8

MAX_SLOTS = 8  # markers "\x00" ... "\x07": JSON escapes them, so they cannot clash


def _marker(slot: int) -> bytes:
    """How JSON writes the ``slot``-th marker string, quotes included."""
    return b'"\\u%04x"' % slot


def _encoded(value: str | int) -> bytes:
    if isinstance(value, str):
        return utf8(encode_basestring(value))
    if isinstance(value, bool):  # JSON writes these as words, not digits
        raise TypeError(f"a template fills strings and integers, not {value!r}")
    return b"%d" % value


class TextFrame:
    """The frame ``render(text)`` would give, for any ``text``, without re-rendering it."""

    __slots__ = ("_prefix", "_suffix")

    def __init__(self, render: Callable[[str], bytes]) -> None:
        self._prefix, self._suffix = Template(render, 1).parts

    @classmethod
    def around(cls, prefix: bytes, suffix: bytes) -> TextFrame:
        """The frame that is ``prefix``, the escaped text, ``suffix``."""
        frame = cls.__new__(cls)
        frame._prefix = prefix
        frame._suffix = suffix
        return frame

    def __call__(self, text: str) -> bytes:
        """The frame carrying ``text``."""
        return self._prefix + utf8(encode_basestring(text)) + self._suffix


class Template:
    """The frame ``render(*values)`` would give for any values, each a string or an integer.

    ``render`` is called once with a marker string in place of each value; each must appear
    exactly once in the frame, as a JSON string (an integer slot is rendered as that string
    too and filled with digits).
    """

    __slots__ = ("_fills", "_order", "parts")

    def __init__(self, render: Callable[..., bytes], slots: int) -> None:
        if not 1 <= slots <= MAX_SLOTS:
            raise ValueError(f"a template has 1 to {MAX_SLOTS} slots, not {slots}")
        sample = render(*(chr(slot) for slot in range(slots)))
        found = []
        for slot in range(slots):
            marker = _marker(slot)
            if sample.count(marker) != 1:
                raise ValueError(
                    f"each value must appear once, as a JSON string: {slot} in {sample!r}"
                )
            found.append((sample.index(marker), slot))
        found.sort()
        parts, order, start = [], [], 0
        for at, slot in found:
            parts.append(sample[start:at])
            order.append(slot)
            start = at + len(_marker(slot))
        parts.append(sample[start:])
        self.parts: tuple[bytes, ...] = tuple(parts)
        self._order: tuple[int, ...] = tuple(order)
        self._fills = tuple(zip(self._order, self.parts[1:], strict=True))  # (slot, bytes after)

    def __call__(self, *values: str | int) -> bytes:
        """The frame carrying ``values``, in ``render``'s order."""
        frame = self.parts[0]
        for slot, after in self._fills:
            frame += _encoded(values[slot]) + after
        return frame

    def text_frame(self, *fixed: str | int) -> TextFrame:
        """A :class:`TextFrame` with every slot but the last filled with ``fixed``."""
        last = len(self._order) - 1
        if len(fixed) != last:
            raise ValueError(f"{last} fixed values needed, got {len(fixed)}")
        prefix, pieces = b"", [self.parts[0]]
        for gap, slot in enumerate(self._order, 1):
            if slot == last:
                prefix, pieces = b"".join(pieces), []
            else:
                pieces.append(_encoded(fixed[slot]))
            pieces.append(self.parts[gap])
        return TextFrame.around(prefix, b"".join(pieces))
