"""The journeys' building blocks eval uses, in one place: an introducing commit's review is built by the
functions submit builds a review with, and its batch is read by the function poll reads one with.

If one of them moves or is renamed, this module is the one line to change. What submit adds to a request
later (the repository's rules, a verify round) comes to eval through `plan_case` and `request_builders` as
long as submit adds it there; a step submit takes outside them must be added here too, and
tests/eval/test_same_requests.py, which compares eval's requests with submit's for the same commit, fails
until it is.
"""

from __future__ import annotations

from collections.abc import Callable

from ..core.vocabulary import Target
from ..planning.budget import apply_budget, estimate_of  # noqa: F401 - re-exported for eval
from ..planning.builder import RequestBuilder
from ..planning.pricing import actual_cost, format_usd  # noqa: F401
from ..poll.batches import collect_results  # noqa: F401
from ..submit.plans import TargetPlan, builders, plan_target

__all__ = ["apply_budget", "estimate_of", "actual_cost", "format_usd", "collect_results", "request_builders",
           "case_target", "plan_case"]


def request_builders(cfg) -> Callable[[str], RequestBuilder]:
    """One RequestBuilder per model, made by submit's own `builders`: the same instructions, output
    contract, caps, reasoning effort and exact token counting."""
    return builders(cfg)


def case_target(repository: str, sha: str, parent: str, message: str) -> Target:
    """An introducing commit as submit's own target for one commit (submit.targets.local_targets reviews
    the last commit as `<sha>~1...<sha>`), its message as the description the author wrote: framed as
    material by the same code that frames a pull request's (packing.target_context)."""
    return Target(kind="branches", repository=repository, base_ref=f"{sha[:12]}~1", head_ref=sha[:12],
                  head_sha=sha, base_sha=parent, body=message)


def plan_case(git, cfg, builder_for: Callable[[str], RequestBuilder], target: Target, *,
              state_folder: str | None) -> TargetPlan:
    """The requests of one introducing commit, exactly as submit plans a target (no earlier review: the
    whole change)."""
    return plan_target(git, cfg, builder_for, target, None, state_folder=state_folder)
