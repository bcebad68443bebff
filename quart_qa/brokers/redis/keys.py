"""Redis key names. Every key of a user carries the hash tag ``{<user_id>}``.

Redis Cluster then keeps all of a user's keys in one slot, so the Lua scripts that
touch several of them stay legal there. The only key shared by all users is the node
table (``<prefix>:nodes``), touched once per connect and by each node's ticker.

The admin API's keys (shared scripts, use counts, the journal) all carry the hash tag
``{admin}``: one slot, so each of their scripts is legal in a cluster too.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class UserKeys:
    """The keys of one user."""

    events: str  # stream: the user's events, trimmed to ~history, expiring history_ttl after use
    conns: str  # hash: open connections per node (c:<node>), node liveness (e:<node>), idle
    lease: str  # string: the node running the user's answers; expires unless refreshed
    running: str  # string: id of the answer being streamed ("!<id>" once it was given up)
    queue: str  # list: questions waiting (on_busy = "queue"), JSON {"id", "q"}
    cancel: str  # string: id of the answer a cancel asked to stop
    rate: str  # string: GCRA theoretical arrival time (ms) of the user's questions

    def all(self) -> tuple[str, ...]:
        """Every key, in field order."""
        return (
            self.events,
            self.conns,
            self.lease,
            self.running,
            self.queue,
            self.cancel,
            self.rate,
        )


def user_keys(prefix: str, user_id: str) -> UserKeys:
    """The keys of ``user_id`` under ``prefix``."""
    base = f"{prefix}:{{{user_id}}}:"
    return UserKeys(*(base + name for name in UserKeys.__dataclass_fields__))


def nodes_key(prefix: str) -> str:
    """The hash of every node's connection count and liveness."""
    return f"{prefix}:nodes"


def control_channel(prefix: str, node: str) -> str:
    """The Pub/Sub channel on which a node hears cancels for the answers it runs."""
    return f"{prefix}:node:{node}"


def user_of(prefix: str, key: str) -> str:
    """The user id inside one of that user's keys."""
    start = len(prefix) + 2
    return key[start : key.index("}", start)]


@dataclass(frozen=True, slots=True)
class AdminKeys:
    """The keys of the admin API's shared state (scripts, use counts, the journal)."""

    version: str  # string: moves on every change of a script
    rules: str  # hash: scope field -> the script's rules as pushed (a JSON array)
    generations: str  # hash: scope field -> when each run of its rules was given ("v:n,...,v")
    bases: str  # hash: scope field -> "config" when the TOML's rules follow the script's
    uses: str  # hash: "s<version given>:<index>" -> uses of a rule with `times` or a `sequence`
    journal: str  # stream: finished requests, entry id "<id>-1", capped at journal_size
    journal_ids: str  # string: the last journal id given

    def scripts(self) -> list[str]:
        """The keys the script-changing Lua scripts touch, in their order."""
        return [self.version, self.rules, self.generations, self.bases, self.uses]


def admin_keys(prefix: str) -> AdminKeys:
    """The admin API's keys under ``prefix``."""
    base = f"{prefix}:{{admin}}:"
    return AdminKeys(*(base + name for name in AdminKeys.__dataclass_fields__))
