"""Kernel TCP counters: how many connection attempts a full listen queue dropped."""

from __future__ import annotations

from pathlib import Path

NETSTAT = Path("/proc/net/netstat")


def listen_drops() -> int:
    """``TcpExt ListenDrops`` for the whole machine (0 where /proc has no such counter)."""
    try:
        lines = NETSTAT.read_text().splitlines()
    except OSError:
        return 0
    for names, values in zip(lines[::2], lines[1::2], strict=False):
        if names.startswith("TcpExt:"):
            counters = dict(zip(names.split()[1:], values.split()[1:], strict=False))
            return int(counters.get("ListenDrops", 0))
    return 0
