"""Prices, estimates and actual cost (pure).

Prices are US dollars per million tokens at the STANDARD rate; the Batch API charges half. Cached input
tokens are reported but not discounted in the batch cost: OpenAI does not document whether the prompt
cache discount stacks with the batch discount, so the figure shown is the one that cannot be exceeded.
An unknown model has no price: reports show its tokens and "unknown price", never a made-up number.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

BATCH_DISCOUNT = 0.5


@dataclass(frozen=True)
class Price:
    input: float
    output: float
    cached_input: float | None = None


# Standard (non-batch) prices per 1M tokens from OpenAI's published pricing page, as last checked for
# this table (2025). Override or extend them with `prices:` in the configuration.
PRICES: dict[str, Price] = {
    "gpt-5": Price(1.25, 10.00, 0.125),
    "gpt-5-mini": Price(0.25, 2.00, 0.025),
    "gpt-5-nano": Price(0.05, 0.40, 0.005),
    "gpt-4.1": Price(2.00, 8.00, 0.50),
    "gpt-4.1-mini": Price(0.40, 1.60, 0.10),
    "gpt-4.1-nano": Price(0.10, 0.40, 0.025),
    "gpt-4o": Price(2.50, 10.00, 1.25),
    "gpt-4o-mini": Price(0.15, 0.60, 0.075),
    "o3": Price(2.00, 8.00, 0.50),
    "o3-mini": Price(1.10, 4.40, 0.55),
    "o4-mini": Price(1.10, 4.40, 0.275),
}

_SNAPSHOT = re.compile(r"^(?P<base>.+?)-\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class Cost:
    batch_usd: float
    standard_usd: float
    estimated_price: bool = False  # the price of a base model used for its fine-tune


def price_for(model: str, overrides: Mapping[str, object] | None = None) -> tuple[Price, bool] | None:
    """(price, is a guess) for a model: configured, built-in, dated snapshot, fine-tune's base; or None."""
    overrides = overrides or {}
    if model in overrides:
        p = overrides[model]
        return Price(p.input, p.output, getattr(p, "cached_input", None)), False
    if model in PRICES:
        return PRICES[model], False
    snapshot = _SNAPSHOT.match(model)
    if snapshot and snapshot["base"] in PRICES:
        return PRICES[snapshot["base"]], False
    if model.startswith("ft:"):
        base = model.split(":")[1] if model.count(":") >= 1 else ""
        found = price_for(base, overrides) if base else None
        if found:
            return found[0], True
    return None


def estimate_cost(model: str, input_tokens: int, output_tokens: int,
                  overrides: Mapping[str, object] | None = None) -> Cost | None:
    found = price_for(model, overrides)
    if found is None:
        return None
    price, guess = found
    standard = (input_tokens * price.input + output_tokens * price.output) / 1_000_000
    return Cost(standard * BATCH_DISCOUNT, standard, guess)


def actual_cost(model: str, usage: Mapping[str, int], overrides: Mapping[str, object] | None = None) -> Cost | None:
    """Cost of measured usage ({input_tokens, cached_input_tokens, output_tokens}); reasoning tokens are
    part of output tokens already."""
    return estimate_cost(model, int(usage.get("input_tokens", 0)), int(usage.get("output_tokens", 0)), overrides)


def format_usd(amount: float | None) -> str:
    if amount is None:
        return "unknown price"
    if amount and abs(amount) < 0.01:
        return f"${amount:.4f}"
    return f"${amount:,.2f}"
