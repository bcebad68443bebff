"""Why the answering core or a broker will not take a request: plain exceptions, no HTTP.

The web layer (:mod:`quart_qa.web.refusals`) and each dialect turn them into their own
status code and error body, in one place each.
"""

from __future__ import annotations


class Refused(Exception):
    """A request refused for a reason the caller can act on (wait, reconnect, ask later)."""


class TooManyConnections(Refused):
    """This process holds ``limit`` connections already."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the server holds its limit of {limit} connections")
        self.limit = limit


class TooManyConnectionsForUser(Refused):
    """``user_id`` has ``limit`` open connections already."""

    def __init__(self, user_id: str, limit: int) -> None:
        super().__init__(f"user {user_id!r} already has {limit} open connections")
        self.user_id = user_id
        self.limit = limit


class NotConnected(Refused):
    """``user_id`` has no open stream to answer on."""

    def __init__(self, user_id: str) -> None:
        super().__init__(f"user {user_id!r} has no open connection to answer on")
        self.user_id = user_id


class Busy(Refused):
    """An answer is streaming for the user and ``on_busy`` is ``"reject"``."""

    def __init__(self) -> None:
        super().__init__("an answer is still streaming for this user")


class TooManyPending(Refused):
    """``waiting`` questions are queued for the user already."""

    def __init__(self, waiting: int) -> None:
        super().__init__(f"{waiting} questions are already waiting for this user")
        self.waiting = waiting


class RateLimited(Refused):
    """More than ``per_minute`` questions a minute; the next is allowed in ``wait`` seconds."""

    def __init__(self, per_minute: int, wait: float) -> None:
        super().__init__(f"more than {per_minute} questions a minute; try again in {wait:.1f} s")
        self.per_minute = per_minute
        self.wait = wait


class NothingRunning(Refused):
    """No answer is running for ``user_id`` (nothing to cancel)."""

    def __init__(self, user_id: str) -> None:
        super().__init__(f"no answer is running for user {user_id!r}")
        self.user_id = user_id


class BrokerUnavailable(Refused):
    """The broker (Redis) cannot be reached; ``str()`` is one line for users."""

    def __init__(self, detail: str = "the message broker (Redis) is unreachable") -> None:
        super().__init__(detail)
