"""pacing.py: the write budget against GitHub's documented limits, on a simulated clock.

Each rule is one GitHub states (FACTS.md, its rate-limit docs): a second between writes, 80 a minute, 500
an hour, and after a limit answer: Retry-After when given, else X-RateLimit-Reset when Remaining is 0,
else at least a minute. A budget that sends early gets the integration blocked; one that waits forever
turns a long night into a timed-out job.
"""

from __future__ import annotations

import pytest

from batch_review.github.pacing import MAX_WAIT, MIN_LIMIT_WAIT, WriteBudget, WriteBudgetSpent

from ..night import SimClock


def budget(**kw) -> WriteBudget:
    return WriteBudget(clock=SimClock(0.0), **kw)


def test_writes_go_out_a_second_apart_and_eighty_a_minute():
    b = budget(per_minute=80, per_hour=500, interval=1.0)
    times = []
    for _ in range(81):
        b.before_write()
        times.append(b.clock.now())
    gaps = [b2 - a for a, b2 in zip(times, times[1:], strict=False)]
    assert min(gaps) >= 1.0
    assert all(len([t for t in times if w <= t < w + 60]) <= 80 for w in times)
    fast = budget(per_minute=80, per_hour=500, interval=0.0)
    for _ in range(81):
        fast.before_write()
    assert fast.sent[-1] - fast.sent[-81] >= 60  # the 81st waited for the minute's first to leave


def test_the_hours_writes_used_stop_the_run_with_the_time_the_next_can_go_on():
    b = budget(per_minute=1000, per_hour=5, interval=0.0)
    for _ in range(5):
        b.before_write()
    assert b.left() == 0
    with pytest.raises(WriteBudgetSpent) as stop:
        b.before_write()
    assert stop.value.resume_at == b.sent[0] + 3600 and stop.value.transient
    b.clock.sleep(3600)
    b.before_write()  # an hour later the window has room again


@pytest.mark.parametrize(("status", "headers", "message", "wait"), [
    (403, {"Retry-After": "90"}, "", 90),
    (429, {"Retry-After": "5"}, "", MIN_LIMIT_WAIT),  # never within a minute
    (403, {}, "You have exceeded a secondary rate limit", MIN_LIMIT_WAIT),
    (403, {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "100"}, "API rate limit exceeded", 100),
])
def test_a_limit_answer_holds_every_request_for_as_long_as_github_asks(status, headers, message, wait):
    b = budget()
    assert b.observe(status, headers, message) is True
    assert b.blocked_until == pytest.approx(wait)
    b.wait_to_send()
    assert b.clock.now() >= wait


def test_a_forbidden_write_is_not_a_limit_and_a_long_wait_ends_the_run():
    b = budget()
    assert b.observe(403, {"X-RateLimit-Remaining": "4000"}, "Resource not accessible by integration") is False
    assert b.blocked_until == 0
    assert b.observe(403, {"Retry-After": str(int(MAX_WAIT) + 1)}, "") is True
    with pytest.raises(WriteBudgetSpent) as stop:
        b.wait_to_send()
    assert stop.value.resume_at == pytest.approx(MAX_WAIT + 1)


def test_three_limit_answers_in_one_run_end_its_posting():
    b = budget()
    b.observe(429, {"Retry-After": "1"})
    b.observe(429, {"Retry-After": "1"})
    with pytest.raises(WriteBudgetSpent):
        b.observe(429, {"Retry-After": "1"})


def test_the_primary_budget_is_read_from_every_answer_rest_and_graphql_apart():
    b = budget()
    b.observe(200, {"X-RateLimit-Remaining": "900", "X-RateLimit-Reset": "10", "X-RateLimit-Resource": "core"})
    assert b.primary_low() is None
    b.observe(200, {"X-RateLimit-Remaining": "12", "X-RateLimit-Reset": "20", "X-RateLimit-Resource": "graphql"})
    assert b.primary_low() == (12, 20)
