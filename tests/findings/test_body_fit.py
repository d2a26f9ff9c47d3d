"""findings/body_fit.py beyond what test_compose.py covers: a fitted body is never over its budget
whatever the sizes, sections are shown in order with a heading only when an entry of theirs is, entries
that will not be shown are never made (thousands of findings cost no time), and compose_checked takes the
rendered form when it passes, the literal form when it does not, and says which units were built."""

from __future__ import annotations

import pytest

from batch_review.findings import body_fit
from batch_review.findings.body_fit import OVERFLOW_ROOM, Lazy, Section, compose_checked, fit


def _section(title: str, sizes: list[int], made: list | None = None, severity: str = "low") -> Section:
    def make(i: int, size: int) -> str:
        if made is not None:
            made.append((title, i))
        return f"{title}-{i} " + "w" * size
    return Section(title, Lazy([(i, s) for i, s in enumerate(sizes)], make), "finding",
                   [severity] * len(sizes), Lazy([(i,) for i in range(len(sizes))], lambda i: f"- {title} {i}"))


def test_everything_that_fits_is_shown_with_no_overflow_section():
    units = fit(["head"], [_section("A", [10, 10]), _section("B", [10])], 10_000)
    assert units == ["head", "### A", "A-0 " + "w" * 10, "A-1 " + "w" * 10, "### B", "B-0 " + "w" * 10]


def test_an_empty_section_gets_no_heading():
    assert fit(["head"], [_section("A", []), _section("B", [5])], 10_000) == ["head", "### B", "B-0 wwwww"]


def test_a_section_none_of_whose_entries_fit_gets_no_heading_and_is_counted():
    budget = OVERFLOW_ROOM + 500
    units = fit(["head"], [_section("A", [100]), _section("B", [1_000, 10], severity="critical")], budget)
    assert "### B" not in units and units[:3] == ["head", "### A", "A-0 " + "w" * 100]
    overflow = units[-1]
    assert "- B: 2 findings not shown in full (2 critical)" in overflow
    assert "- B 0\n- B 1" in overflow  # listed in brief, in order


def test_once_an_entry_does_not_fit_the_rest_of_its_section_waits_for_the_overflow_list():
    """Entries keep their order: a small one after a big one that did not fit is not shown before it."""
    units = fit([], [_section("A", [10, 5_000, 10])], OVERFLOW_ROOM + 1_000)
    assert [u for u in units if u.startswith("A-")] == ["A-0 " + "w" * 10]
    assert "- A: 2 findings not shown in full (2 low)" in units[-1]


@pytest.mark.parametrize("budget", [OVERFLOW_ROOM + 100, 5_000, 20_000, 65_536])
@pytest.mark.parametrize("n", [1, 40, 3_000])
def test_the_fitted_body_never_exceeds_its_budget(budget, n):
    sections = [_section("Findings", [(i * 37) % 900 for i in range(n)]), _section("Answers", [50] * n)]
    units = fit(["h" * 200], sections, budget)
    assert len("\n\n".join(units)) <= budget


def test_entries_that_will_not_be_shown_are_never_made():
    made: list = []
    units = fit([], [_section("A", [1_000] * 10_000, made)], 20_000)
    shown = len([u for u in units if u.startswith("A-")])
    assert 0 < shown and len(made) == shown + 1  # the one that did not fit was made to be measured


def test_lazy_slices_stay_lazy():
    made: list = []
    lazy = Lazy([(i,) for i in range(5)], lambda i: made.append(i) or str(i))
    tail = lazy[3:]
    assert len(tail) == 2 and made == []
    assert list(tail) == ["3", "4"] and made == [3, 4]


# --- compose_checked --------------------------------------------------------------------------------------

def _build(plain: list[str], literal: list[str], calls: list):
    def build(lit: bool) -> list[str]:
        calls.append(lit)
        return literal if lit else plain
    return build


def test_a_body_that_passes_the_check_is_posted_as_built_under_the_leading_lines():
    calls: list = []
    out = compose_checked(["<!-- batch-review:v1 x -->"], _build(["**ok**", "fine"], ["x"], calls), 1_000, ())
    assert out == "<!-- batch-review:v1 x -->\n**ok**\n\nfine"
    assert calls == [False]


def test_a_body_that_fails_the_check_is_built_again_literal():
    calls: list = []
    out = compose_checked([], _build(["ping @admin"], ["ping `@admin`"], calls), 1_000, ())
    assert out == "ping `@admin`" and calls == [False, True]


def test_a_body_over_the_limit_is_built_again_literal_even_if_it_renders():
    calls: list = []
    out = compose_checked([], _build(["a" * 2_000], ["short"], calls), 1_000, ())
    assert out == "short" and calls == [False, True]


@pytest.mark.parametrize("limit", [200, 1_000])
def test_whatever_path_is_taken_the_result_is_within_the_limit(limit):
    out = compose_checked(["<!-- m -->"], lambda lit: ["@admin " * 500], limit, ())
    assert len(out) <= limit and out.startswith("<!-- m -->\n" + body_fit.LITERAL_INTRO)
