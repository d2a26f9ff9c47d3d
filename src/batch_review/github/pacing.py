"""GitHub's write limits, kept by the poll itself: pacing, a run's budget, and what limit answers mean.

GitHub allows about 80 content-creating requests a minute and 500 an hour (its secondary rate limits;
it does not say which requests count, so every POST, PATCH, PUT and DELETE counts here, GraphQL queries
not), and asks for a second between writes. Beyond them it answers 403 or 429; then, GitHub's docs: wait
Retry-After seconds when given, else until X-RateLimit-Reset when X-RateLimit-Remaining is 0, else at
least a minute, and retry with growing waits.

`WriteBudget` counts this run's own writes in the last minute and the last hour and waits (through the
clock) before a write that would pass either, or that comes within `interval` of the last one. After a
limit answer nothing is sent (read or write) for at least a minute. A wait longer than MAX_WAIT, the
hour's writes used up, or LIMIT_ANSWERS limit answers in one run end the run's posting with
`WriteBudgetSpent`: a clean stop, with the time from which the next poll can go on. The primary rate
limit (X-RateLimit-Remaining) is watched the same way: under RESERVE requests left, posting stops.

The clock is `CLOCK` (wall time and time.sleep); tests replace it with a simulated one that the GitHub
emulator shares, so a night's pacing runs in no time.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field

from ..core.errors import GitHubError

PER_MINUTE = 80
PER_HOUR = 500
MIN_LIMIT_WAIT = 60.0  # GitHub: at least a minute after a limit answer without Retry-After
MAX_WAIT = 120.0  # a longer wait ends this run's posting; the next poll goes on
LIMIT_ANSWERS = 3  # limit answers in one run before it stops trying
RESERVE = 50  # primary rate limit: requests kept for the rest of the run (retire, reports)
MARGIN = 0.05  # seconds added to every wait: a window's edge is never met exactly


class Clock:
    """Wall time; `sleep` blocks. Replaced by tests (a simulated clock that the emulator shares)."""

    def now(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


CLOCK = Clock()


class WriteBudgetSpent(GitHubError):
    """This run may not write to GitHub any more; `resume_at` (epoch seconds) is when the next poll can."""

    def __init__(self, message: str, resume_at: float) -> None:
        super().__init__(429, message)
        self.resume_at = resume_at
        self.transient = True


@dataclass
class WriteBudget:
    per_minute: int = PER_MINUTE
    per_hour: int = PER_HOUR
    interval: float = 1.0  # seconds between two writes (GitHub's advice)
    clock: Clock = field(default_factory=lambda: CLOCK)
    sent: deque = field(default_factory=deque)  # times of this run's writes, the last hour's
    blocked_until: float = 0.0  # nothing is sent before this (a limit answer)
    limit_answers: int = 0
    rate_remaining: dict = field(default_factory=dict)  # resource -> (remaining, reset epoch)

    def _forget(self, now: float) -> None:
        while self.sent and self.sent[0] <= now - 3600:
            self.sent.popleft()

    def left(self) -> int:
        """Writes this run may still make in the current hour."""
        self._forget(self.clock.now())
        return max(0, self.per_hour - len(self.sent))

    def hour_frees(self) -> float:
        """When this run's oldest write of the hour leaves the window (now, if there is room)."""
        now = self.clock.now()
        self._forget(now)
        return self.sent[0] + 3600 if len(self.sent) >= self.per_hour else now

    def _spent(self, why: str, resume_at: float) -> WriteBudgetSpent:
        return WriteBudgetSpent(f"stopped posting: {why}", resume_at)

    def wait_to_send(self) -> None:
        """Before any request: nothing within a minute after a limit answer (a short wait is waited out)."""
        now = self.clock.now()
        if self.blocked_until > now:
            wait = self.blocked_until - now
            if wait > MAX_WAIT:
                raise self._spent(f"GitHub asked for {wait:.0f} s before the next request", self.blocked_until)
            self.clock.sleep(wait + MARGIN)

    def before_write(self) -> None:
        """Wait until one more write keeps every limit, or raise WriteBudgetSpent; then count it."""
        self.wait_to_send()
        now = self.clock.now()
        self._forget(now)
        if len(self.sent) >= self.per_hour:
            raise self._spent(f"{self.per_hour} content-creating requests in the last hour (GitHub's limit)",
                              self.sent[0] + 3600)
        wait = 0.0
        if self.sent:
            wait = max(wait, self.sent[-1] + self.interval - now)
        recent = [t for t in self.sent if t > now - 60]
        if len(recent) >= self.per_minute:
            wait = max(wait, recent[-self.per_minute] + 60 - now)
        if wait > MAX_WAIT:
            raise self._spent("the minute's writes are used up", now + wait)
        if wait > 0:
            self.clock.sleep(wait + MARGIN)
        self.sent.append(self.clock.now())

    def observe(self, status: int, headers: dict | None, message: str = "") -> bool:
        """Read an answer's rate headers; True when it is a limit answer (then nothing is sent for a while)."""
        h = {str(k).lower(): str(v) for k, v in (headers or {}).items()}
        remaining, reset = _int(h.get("x-ratelimit-remaining")), _int(h.get("x-ratelimit-reset"))
        if remaining is not None:
            self.rate_remaining[h.get("x-ratelimit-resource", "core")] = (remaining, reset)
        if status not in (403, 429):
            return False
        retry_after = _int(h.get("retry-after"))
        if retry_after is None and remaining != 0 and status == 403 and "rate limit" not in message.lower():
            return False  # a plain 403 (a permission): not a limit
        now = self.clock.now()
        if retry_after is not None:
            wait = float(retry_after)
        elif remaining == 0 and reset is not None:
            wait = reset - now
        else:
            wait = 0.0
        self.limit_answers += 1
        self.blocked_until = max(self.blocked_until, now + max(MIN_LIMIT_WAIT, wait))
        if self.limit_answers >= LIMIT_ANSWERS:
            raise self._spent(f"GitHub answered {self.limit_answers} requests with its rate limit",
                              self.blocked_until)
        return True

    def primary_low(self) -> tuple[int, float | None] | None:
        """(requests left, reset) when a primary rate budget is under RESERVE, else None."""
        for remaining, reset in self.rate_remaining.values():
            if remaining < RESERVE:
                return remaining, reset
        return None


def _int(value: str | None) -> int | None:
    try:
        return int(float(value)) if value not in (None, "") else None
    except ValueError:
        return None
