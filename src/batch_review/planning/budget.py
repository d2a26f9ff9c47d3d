"""The budget guard: what tonight's requests may cost, and the estimate the manifest records (pure).

Costs are upper bounds: every request is priced with its full max_output_tokens, so the real bill cannot
exceed them (pricing.py prices the tokens). `budget.max_requests` and `budget.max_cost_usd` are checked
over all requests; with `budget.on_exceed: fit` whole targets are kept in order while they fit and the
rest deferred, with `skip` (or `fail`) nothing is kept. A model with no known price has no cost, so with
`budget.max_cost_usd` set it is refused before anything is built (`unpriced`): the cost guard is never
silently off. Without a cost limit it reports "unknown price", and only `max_requests` can stop it.
"""

from __future__ import annotations

import difflib
import json

from .pricing import PRICES, cost_of, estimate_cost, format_usd, price_for, tokens_by_model
from .verify import EXPECTED_CANDIDATES, expected_round


def unpriced(cfg, model: str) -> str | None:
    """Why `budget.max_cost_usd` cannot be held for `model` (a phrase), or None: the limit is set and the
    model has no price, built in or under `prices:`. Names the model, a close built-in name (a typo),
    and the `prices:` entry that would price it."""
    limit = cfg.budget.max_cost_usd
    if limit is None or price_for(model, cfg.prices) is not None:
        return None
    close = difflib.get_close_matches(model.strip().lower(), list(PRICES), n=1, cutoff=0.8)
    typo = f"did you mean {close[0]!r}? Or " if close else ""
    return (f"{model!r} has no known price, so budget.max_cost_usd ({format_usd(limit)}) cannot be checked; "
            f"{typo}price it under prices: ({json.dumps(model)}: {{input: …, output: …}}, US dollars per "
            "million tokens at the standard rate), or set budget.max_cost_usd: null for no cost limit")


def verify_expected(cfg, targets: int) -> list:
    """The verify round these targets are expected to cost (none when the round is off)."""
    verify = getattr(cfg, "verify", None)
    if verify is None or not verify.enabled or not targets:
        return []
    return expected_round(verify.model or cfg.model, targets)


def over_budget(cfg, specs, *, verify_targets: int = 0) -> str | None:
    """Why these requests (anything with model, est_input_tokens, max_output_tokens) are over the
    configured budget, or None. Costs are upper bounds: full max_output_tokens for every request; with
    `verify_targets`, the verify round those targets are expected to send is in the cost."""
    budget = cfg.budget
    if budget.max_requests is not None and len(specs) > budget.max_requests:
        return f"{len(specs):,} requests is over budget.max_requests ({budget.max_requests:,})"
    cost = cost_of(cfg, list(specs) + verify_expected(cfg, verify_targets))
    if budget.max_cost_usd is not None and cost is not None and cost.batch_usd > budget.max_cost_usd:
        return (f"estimated cost {format_usd(cost.batch_usd)} is over budget.max_cost_usd "
                f"({format_usd(budget.max_cost_usd)})")
    return None


def apply_budget(cfg, plans: list, *, verify: bool = False) -> tuple[list, list, str | None]:
    """(kept, deferred, note) of plans (anything with `specs`), in order; with `verify`, each plan's
    expected verify round counts toward the cost."""
    budget = cfg.budget

    def over(specs: list, targets: int) -> str | None:
        return over_budget(cfg, specs, verify_targets=targets if verify else 0)

    total = over([s for p in plans for s in p.specs], len(plans))
    if total is None:
        return plans, [], None
    if budget.on_exceed != "fit":
        return [], plans, total + "; nothing submitted (budget.on_exceed: skip)"
    kept, deferred, taken = [], [], []
    for plan in plans:
        if over(taken + plan.specs, len(kept) + 1) is None:
            kept.append(plan)
            taken += plan.specs
        else:
            deferred.append(plan)
    return kept, deferred, total + f"; submitted {len(kept)} of {len(plans)} targets (budget.on_exceed: fit)"


def estimate_of(cfg, specs: list, *, verify_targets: int = 0) -> dict:
    """The manifest's estimate: tokens and upper-bound cost (output at every request's cap), per model;
    with `verify_targets`, the expected verify round beside it (`verify`, its candidate mix stated)."""
    estimate = _estimate(cfg, specs)
    expected = verify_expected(cfg, verify_targets)
    if expected:
        cost = cost_of(cfg, expected)
        estimate["verify"] = {"candidates_per_target": EXPECTED_CANDIDATES, "requests": len(expected),
                              "input_tokens": sum(e.est_input_tokens for e in expected),
                              "max_output_tokens": sum(e.max_output_tokens for e in expected),
                              "batch_usd": round(cost.batch_usd, 6) if cost else None}
    return estimate


def _estimate(cfg, specs: list) -> dict:
    cost = cost_of(cfg, specs)
    by_model = {}
    for model, (n, i, o) in sorted(tokens_by_model(specs).items()):
        price = estimate_cost(model, i, o, cfg.prices)
        by_model[model] = {"requests": n, "input_tokens": i, "max_output_tokens": o,
                           "batch_usd": round(price.batch_usd, 6) if price else None}
    return {"input_tokens": sum(s.est_input_tokens for s in specs),
            "max_output_tokens": sum(s.max_output_tokens for s in specs),
            "batch_usd": round(cost.batch_usd, 6) if cost else None,
            "standard_usd": round(cost.standard_usd, 6) if cost else None, "by_model": by_model}
