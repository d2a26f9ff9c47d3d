"""pricing.py: price table, model-name resolution, estimates and actual cost."""

from __future__ import annotations

import pytest

from batch_review.config.models import PriceEntry as ConfigPrice
from batch_review.findings.results import Usage
from batch_review.planning.pricing import (
    PRICES,
    CostEstimate,
    ModelPrice,
    actual_cost,
    estimate_cost,
    format_usd,
    price_for,
)

MODELS = ["gpt-5", "gpt-5-mini", "gpt-5-nano", "gpt-4.1", "gpt-4.1-mini", "gpt-4.1-nano", "gpt-4o",
          "gpt-4o-mini", "o3", "o4-mini", "o3-mini"]


def p(i, c, o, estimated=False) -> ModelPrice:
    return ModelPrice(input=i, cached_input=c, output=o, estimated=estimated)


def test_table_covers_the_common_models_with_sane_figures():
    for model in MODELS:
        price = PRICES[model]
        assert 0 < price.cached_input < price.input < price.output, model
        assert not price.estimated


@pytest.mark.parametrize("model, price", [
    ("gpt-5", p(1.25, 0.125, 10.00)), ("gpt-5-mini", p(0.25, 0.025, 2.00)), ("gpt-5-nano", p(0.05, 0.005, 0.40)),
    ("gpt-4.1", p(2.00, 0.50, 8.00)), ("gpt-4.1-mini", p(0.40, 0.10, 1.60)), ("gpt-4.1-nano", p(0.10, 0.025, 0.40)),
    ("gpt-4o", p(2.50, 1.25, 10.00)), ("gpt-4o-mini", p(0.15, 0.075, 0.60)), ("o3", p(2.00, 0.50, 8.00)),
    ("o4-mini", p(1.10, 0.275, 4.40)), ("o3-mini", p(1.10, 0.55, 4.40)),
])
def test_documented_prices(model, price):
    assert price_for(model) == price


@pytest.mark.parametrize("model, base", [
    ("gpt-4o-mini-2024-07-18", "gpt-4o-mini"),
    ("gpt-4o-2024-08-06", "gpt-4o"),
    ("gpt-4.1-2025-04-14", "gpt-4.1"),
    ("gpt-4.1-mini-2025-04-14", "gpt-4.1-mini"),
    ("o3-mini-2025-01-31", "o3-mini"),
    ("o3-2025-04-16", "o3"),
    ("gpt-5-nano-2025-08-07", "gpt-5-nano"),
    ("GPT-4o-Mini", "gpt-4o-mini"),
])
def test_dated_snapshots_resolve_to_their_model(model, base):
    assert price_for(model) == PRICES[base]


def test_a_snapshot_with_its_own_price_is_not_its_base():
    assert price_for("gpt-4o-2024-05-13") == p(5.00, None, 15.00)


@pytest.mark.parametrize("model", ["gpt-4o-mini-preview", "gpt-4o-mini-2024-07", "gpt-4o-mini-20240718",
                                   "my-deployment", "", "gpt-6", "2024-07-18", "ft:", "ft:unknown:org::id",
                                   "ft::org::id"])
def test_unknown_models_have_no_price(model):
    assert price_for(model) is None
    assert estimate_cost(model, 1000, 1000) is None
    assert actual_cost(model, {"input_tokens": 1}) is None


def test_fine_tunes_are_priced_as_their_base_model_and_marked_estimated():
    assert price_for("ft:gpt-4o-mini-2024-07-18:acme::9zWxyzAb") == p(0.15, 0.075, 0.60, estimated=True)
    assert price_for("ft:gpt-4.1-nano-2025-04-14:acme:reviewer:BkXy12") == p(0.10, 0.025, 0.40, estimated=True)
    assert estimate_cost("ft:gpt-4o-mini-2024-07-18:acme::9z", 1_000_000, 0).estimated is True


def test_overrides_come_first_and_accept_any_price_like_object():
    overrides = {"gpt-5-mini": ConfigPrice(input=1.0, output=3.0, cached_input=0.5),
                 "my-azure-deployment": {"input": 2, "output": 4},
                 "ft:gpt-4o-mini-2024-07-18:acme::9z": ConfigPrice(input=0.3, output=1.2),
                 "gpt-4.1": ConfigPrice(input=9.0, output=9.0)}
    assert price_for("gpt-5-mini", overrides) == p(1.0, 0.5, 3.0)
    assert price_for("my-azure-deployment", overrides) == p(2.0, None, 4.0)
    assert price_for("ft:gpt-4o-mini-2024-07-18:acme::9z", overrides) == p(0.3, None, 1.2)  # not an estimate
    assert price_for("gpt-4.1-2025-04-14", overrides) == p(9.0, None, 9.0)  # snapshot of an override
    assert price_for("ft:gpt-4.1:acme::x", overrides) == p(9.0, None, 9.0, estimated=True)
    assert price_for("gpt-5", overrides) == PRICES["gpt-5"]


def test_an_unusable_override_is_ignored():
    assert price_for("gpt-5", {"gpt-5": {"input": "cheap"}}) == PRICES["gpt-5"]
    assert price_for("mine", {"mine": object()}) is None


def test_estimate_batch_is_half_of_standard():
    cost = estimate_cost("gpt-5-mini", 1_000_000, 1_000_000)
    assert cost == CostEstimate(batch_usd=1.125, standard_usd=2.25, estimated=False)


@pytest.mark.parametrize("model", MODELS)
def test_batch_is_half_for_every_model(model):
    cost = estimate_cost(model, 123_456, 7_890)
    price = PRICES[model]
    assert cost.standard_usd == pytest.approx((123_456 * price.input + 7_890 * price.output) / 1e6)
    assert cost.batch_usd == pytest.approx(cost.standard_usd / 2)


def test_estimate_ignores_negative_counts():
    assert estimate_cost("gpt-4o", -5, 1_000_000) == CostEstimate(5.0, 10.0)


def test_actual_cost_prices_cached_tokens_only_at_the_standard_rate():
    usage = {"requests": 3, "input_tokens": 1_000_000, "cached_input_tokens": 400_000, "output_tokens": 100_000}
    cost = actual_cost("gpt-4o", usage)
    # standard: 600k * 2.50 + 400k * 1.25 + 100k * 10 = 1.50 + 0.50 + 1.00
    # batch (no cache discount assumed): (1M * 2.50 + 100k * 10) / 2
    assert cost == CostEstimate(batch_usd=1.75, standard_usd=3.0, estimated=False)


def test_actual_cost_accepts_a_usage_object_and_clamps_cached_tokens():
    cost = actual_cost("gpt-5-mini", Usage(input_tokens=1_000_000, cached_input_tokens=5_000_000,
                                           output_tokens=0, reasoning_tokens=0))
    # every input token cached, none more: 1M * 0.025 at the standard rate; the batch figure ignores the cache
    assert cost.standard_usd == pytest.approx(0.025) and cost.batch_usd == pytest.approx(0.125)


def test_actual_cost_without_a_cached_price_charges_cached_tokens_as_input():
    cost = actual_cost("gpt-4o-2024-05-13", {"input_tokens": 1_000_000, "cached_input_tokens": 1_000_000})
    assert (cost.standard_usd, cost.batch_usd) == (5.0, 2.5)


def test_actual_cost_tolerates_missing_and_bad_counts():
    cost = actual_cost("gpt-4o", {"input_tokens": "x", "output_tokens": None})
    assert (cost.batch_usd, cost.standard_usd) == (0.0, 0.0)


@pytest.mark.parametrize("amount, text", [
    (None, "unknown price"), (0, "$0.00"), (0.0, "$0.00"), (0.00004, "<$0.0001"), (0.0042, "$0.0042"),
    (0.01, "$0.01"), (0.125, "$0.12"), (1.5, "$1.50"), (1234.567, "$1,234.57"), (-0.5, "-$0.50"),
    (-0.003, "-$0.0030"),
])
def test_format_usd(amount, text):
    assert format_usd(amount) == text
