"""A pacing timeline on a fake clock, for deterministic tests of due times."""

from __future__ import annotations

from quart_qa.streaming.scheduler import PaceScheduler


class RecordingScheduler(PaceScheduler):
    """A timeline on a fake clock: records what is waited for; each wait and the work after
    it take ``work`` seconds past the due time."""

    def __init__(self, work: float) -> None:
        super().__init__()
        self.now = 100.0
        self.work = work
        self.dues: list[float] = []

    def time(self) -> float:
        return self.now

    async def sleep_until(self, due: float) -> None:
        self.dues.append(due)
        self.now = max(self.now, due) + self.work
