"""Prices, estimates and actual cost (pure).

Prices are US dollars per million tokens at the STANDARD rate; the Batch API charges half. Cached input
tokens are reported but not discounted in the batch cost: OpenAI does not document whether the prompt
cache discount stacks with the batch discount, so the batch figure is the one that cannot be exceeded.
The standard-rate figure does apply the cache price, as the standard API documents it. An unknown model has no price: reports show its tokens and
"unknown price", never a made-up number.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

BATCH_DISCOUNT = 0.5
UNKNOWN = "unknown price"


@dataclass(frozen=True, kw_only=True)
class ModelPrice:
    """USD per 1M tokens, standard rate. cached_input None: cached tokens cost the input price."""

    input: float
    cached_input: float | None
    output: float
    estimated: bool = False  # a fine-tune priced as its base model


# Standard (non-batch) prices per 1M tokens: input, cached input, output. Checked 2026-11-24 against
# copies of https://developers.openai.com/api/docs/pricing (openai.com/api/pricing) kept by third-party
# price trackers (codeswap.net, llmcalc.app, llmpricing.site / LiteLLM's price map, crazyrouter.com,
# hex.pm openai_responses 0.4.1 "last updated 2025-06-03"), not against OpenAI's page itself, which by
# then no longer lists the gpt-4.x and o3-mini models. o3 is the price after the June 2025 cut. The
# dated snapshot gpt-4o-2024-05-13 kept its launch price and has no cache discount. Override or extend
# with `prices:` in the configuration.
PRICES: dict[str, ModelPrice] = {
    "gpt-5": ModelPrice(input=1.25, cached_input=0.125, output=10.00),
    "gpt-5-mini": ModelPrice(input=0.25, cached_input=0.025, output=2.00),
    "gpt-5-nano": ModelPrice(input=0.05, cached_input=0.005, output=0.40),
    "gpt-4.1": ModelPrice(input=2.00, cached_input=0.50, output=8.00),
    "gpt-4.1-mini": ModelPrice(input=0.40, cached_input=0.10, output=1.60),
    "gpt-4.1-nano": ModelPrice(input=0.10, cached_input=0.025, output=0.40),
    "gpt-4o": ModelPrice(input=2.50, cached_input=1.25, output=10.00),
    "gpt-4o-2024-05-13": ModelPrice(input=5.00, cached_input=None, output=15.00),
    "gpt-4o-mini": ModelPrice(input=0.15, cached_input=0.075, output=0.60),
    "o3": ModelPrice(input=2.00, cached_input=0.50, output=8.00),
    "o3-mini": ModelPrice(input=1.10, cached_input=0.55, output=4.40),
    "o4-mini": ModelPrice(input=1.10, cached_input=0.275, output=4.40),
    **{model: price for models, price in (
        # Claude (provider anthropic): input, cache hits ("cached input"), output, checked 2026-11-28 against
        # https://platform.claude.com/docs/en/about-claude/pricing (Opus rows) and the models' overview
        # pages; the Message Batches API charges half of every part (input, output, cache writes and
        # reads). A 5-minute cache write costs 1.25x the input price; it is billed on the shared prefix
        # when a request writes the cache, and counted here as input. Not listed, so refused until
        # priced under `prices:`: models whose price depends on the prompt length or changed recently
        # (Claude Haiku 5.5, Sonnet 5 and 5.5, Fable, Mythos).
        (("claude-opus-5", "claude-opus-4-8", "claude-opus-4-7", "claude-opus-4-6", "claude-opus-4-5",
          "claude-opus-4-5-20251101"), ModelPrice(input=5.00, cached_input=0.50, output=25.00)),
        (("claude-sonnet-4-6", "claude-sonnet-4-5", "claude-sonnet-4-5-20250929"),
         ModelPrice(input=3.00, cached_input=0.30, output=15.00)),
        (("claude-haiku-4-5", "claude-haiku-4-5-20251001"), ModelPrice(input=1.00, cached_input=0.10, output=5.00)),
    ) for model in models},
}

_SNAPSHOT = re.compile(r"(?P<base>.+)-\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class CostEstimate:
    batch_usd: float
    standard_usd: float
    estimated: bool = False  # priced as the base model of a fine-tune


Cost = CostEstimate


def _as_price(p) -> ModelPrice | None:
    """A ModelPrice from anything with input/output (and optional cached_input) attributes or keys."""
    get = p.get if isinstance(p, Mapping) else lambda k, d=None: getattr(p, k, d)
    try:
        cached = get("cached_input", None)
        return ModelPrice(input=float(get("input")), output=float(get("output")),
                          cached_input=None if cached is None else float(cached))
    except (TypeError, ValueError):
        return None  # config.py validates prices; anything else here is ignored, not guessed at


def _lookup(model: str, overrides: Mapping[str, object]) -> ModelPrice | None:
    if model in overrides and (price := _as_price(overrides[model])) is not None:
        return price
    if model in PRICES:
        return PRICES[model]
    if (m := _SNAPSHOT.fullmatch(model)) and (price := _lookup(m["base"], overrides)) is not None:
        return price
    return None


def price_for(model: str, overrides: Mapping[str, object] | None = None) -> ModelPrice | None:
    """The price of a model: configured, built-in, dated snapshot of either ("gpt-4o-mini-2024-07-18"),
    fine-tune "ft:BASE:org:suffix:id" at BASE's price (estimated=True, unless configured by full name);
    model names are also tried in lower case. None when unknown."""
    overrides = overrides or {}
    model = (model or "").strip()
    for name in dict.fromkeys((model, model.lower())):
        if (price := _lookup(name, overrides)) is not None:
            return price
        if name.startswith("ft:") and len(parts := name.split(":")) > 1 and parts[1]:
            if (base := price_for(parts[1], overrides)) is not None:
                return ModelPrice(input=base.input, cached_input=base.cached_input, output=base.output,
                                  estimated=True)
    return None


def estimate_cost(model: str, input_tokens: int, output_tokens: int,
                  overrides: Mapping[str, object] | None = None) -> CostEstimate | None:
    """(batch, standard) cost of these tokens, all input at the input price; None for an unknown model."""
    price = price_for(model, overrides)
    if price is None:
        return None
    standard = (max(0, input_tokens) * price.input + max(0, output_tokens) * price.output) / 1_000_000
    return CostEstimate(standard * BATCH_DISCOUNT, standard, price.estimated)


def tokens_by_model(specs) -> dict[str, list[int]]:
    """model -> [requests, estimated input tokens, maximum output tokens]."""
    out: dict[str, list[int]] = {}
    for s in specs:
        t = out.setdefault(s.model, [0, 0, 0])
        t[0] += 1
        t[1] += s.est_input_tokens
        t[2] += s.max_output_tokens
    return out


def cost_of(cfg, specs) -> Cost | None:
    """Upper-bound cost of requests (output at each one's cap) over all their models, priced with
    cfg.prices; None when a model has no known price."""
    batch = standard = 0.0
    for model, (_, inp, out) in tokens_by_model(specs).items():
        cost = estimate_cost(model, inp, out, cfg.prices)
        if cost is None:
            return None
        batch += cost.batch_usd
        standard += cost.standard_usd
    return Cost(batch, standard)


def _tokens(usage, key: str) -> int:
    value = usage.get(key, 0) if isinstance(usage, Mapping) else getattr(usage, key, 0)
    try:
        return max(0, int(value or 0))
    except (TypeError, ValueError):
        return 0


def actual_cost(model: str, usage, overrides: Mapping[str, object] | None = None) -> CostEstimate | None:
    """Cost of measured usage: a mapping or object with input_tokens (cached included),
    cached_input_tokens and output_tokens (reasoning included). batch_usd ignores the cache discount."""
    price = price_for(model, overrides)
    if price is None:
        return None
    inp, out = _tokens(usage, "input_tokens"), _tokens(usage, "output_tokens")
    cached = min(_tokens(usage, "cached_input_tokens"), inp)
    cached_rate = price.input if price.cached_input is None else price.cached_input
    full = (inp * price.input + out * price.output) / 1_000_000
    with_cache = ((inp - cached) * price.input + cached * cached_rate + out * price.output) / 1_000_000
    return CostEstimate(batch_usd=full * BATCH_DISCOUNT, standard_usd=with_cache, estimated=price.estimated)


def format_usd(amount: float | None) -> str:
    """"$1,234.56"; under a cent "$0.0042"; under a hundredth of a cent "<$0.0001"; None "unknown price"."""
    if amount is None:
        return UNKNOWN
    sign, a = ("-" if amount < 0 else ""), abs(amount)
    if a == 0:
        return "$0.00"
    if a < 0.0001:
        return f"{sign}<$0.0001"
    if a < 0.01:
        return f"{sign}${a:.4f}"
    return f"{sign}${a:,.2f}"
