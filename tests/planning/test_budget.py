"""budget.py: the budget guard and the manifest's estimate (pure): upper bounds, whole targets, per model."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from batch_review.planning.budget import apply_budget, estimate_of, over_budget, unpriced


def spec(model: str = "gpt-5-mini", tokens: int = 1_000_000, out: int = 0) -> SimpleNamespace:
    return SimpleNamespace(model=model, est_input_tokens=tokens, max_output_tokens=out)


def cfg(max_requests=None, max_cost_usd=None, on_exceed="skip", prices=None) -> SimpleNamespace:
    return SimpleNamespace(budget=SimpleNamespace(max_requests=max_requests, max_cost_usd=max_cost_usd,
                                                  on_exceed=on_exceed), prices=prices or {})


def plan(*specs) -> SimpleNamespace:
    return SimpleNamespace(specs=list(specs))


def test_within_budget_everything_is_kept():
    plans = [plan(spec()), plan(spec())]
    assert apply_budget(cfg(max_requests=2, max_cost_usd=1.0), plans) == (plans, [], None)


def test_over_budget_with_skip_keeps_nothing_and_says_why():
    plans = [plan(spec()), plan(spec())]
    kept, deferred, note = apply_budget(cfg(max_requests=1), plans)
    assert (kept, deferred) == ([], plans)
    assert note == "2 requests is over budget.max_requests (1); nothing submitted (budget.on_exceed: skip)"


def test_fit_keeps_whole_targets_in_order_while_they_fit():
    big, small1, small2 = plan(spec(), spec()), plan(spec()), plan(spec())  # gpt-5-mini: $0.125 per 1M in batch
    kept, deferred, note = apply_budget(cfg(max_cost_usd=0.2, on_exceed="fit"), [small1, big, small2])
    assert kept == [small1] and deferred == [big, small2]
    assert note == ("estimated cost $0.50 is over budget.max_cost_usd ($0.20); submitted 1 of 3 targets "
                    "(budget.on_exceed: fit)")


def test_an_unpriced_model_is_stopped_only_by_the_request_count():
    assert over_budget(cfg(max_cost_usd=0.0), [spec("my-deployment")]) is None
    assert over_budget(cfg(max_requests=0), [spec("my-deployment")]) == "1 requests is over budget.max_requests (0)"


def test_the_estimate_prices_every_request_at_its_output_cap_per_model():
    specs = [spec("gpt-5-mini", 1_000_000, 100_000), spec("gpt-5-mini", 0, 100_000), spec("my-deployment", 10, 5)]
    estimate = estimate_of(cfg(), specs)
    assert estimate["input_tokens"] == 1_000_010 and estimate["max_output_tokens"] == 200_005
    assert estimate["batch_usd"] is None and estimate["standard_usd"] is None  # one model has no price
    mini = estimate["by_model"]["gpt-5-mini"]
    assert mini == {"requests": 2, "input_tokens": 1_000_000, "max_output_tokens": 200_000,
                    "batch_usd": pytest.approx((0.25 + 0.2 * 2.00) / 2)}
    assert estimate["by_model"]["my-deployment"]["batch_usd"] is None
    priced = estimate_of(cfg(prices={"my-deployment": {"input": 1.0, "output": 1.0}}), specs)
    assert priced["batch_usd"] == pytest.approx(mini["batch_usd"] + 15 / 2e6, abs=1e-6)  # rounded to 6 places


# --- unpriced: the cost guard must not be silently off ----------------------------------------------------

def test_an_unpriced_model_is_named_only_while_a_cost_limit_is_set():
    assert unpriced(cfg(max_cost_usd=None), "my-deployment") is None  # no limit: "unknown price" in the report
    assert unpriced(cfg(max_cost_usd=5.0), "gpt-5-mini") is None
    assert unpriced(cfg(max_cost_usd=5.0), "gpt-4o-mini-2024-07-18") is None  # a snapshot of a priced model
    assert unpriced(cfg(max_cost_usd=5.0, prices={"mine": {"input": 1, "output": 1}}), "mine") is None
    assert unpriced(cfg(max_cost_usd=0.0), "my-deployment") == (
        "'my-deployment' has no known price, so budget.max_cost_usd ($0.00) cannot be checked; price it under "
        'prices: ("my-deployment": {input: …, output: …}, US dollars per million tokens at the standard rate), '
        "or set budget.max_cost_usd: null for no cost limit")


def test_a_typo_of_a_known_model_is_offered_and_a_hostile_name_stays_one_line():
    assert "did you mean 'claude-haiku-4-5'? Or price it" in unpriced(cfg(max_cost_usd=1.0), "claude-haiku-4.5")
    assert "did you mean" not in unpriced(cfg(max_cost_usd=1.0), "llama-3.1-70b")
    phrase = unpriced(cfg(max_cost_usd=1.0), 'x"\n\r\x1b]0;title\x07')
    assert phrase.isprintable()


def with_verify(c: SimpleNamespace, enabled: bool = True) -> SimpleNamespace:
    c.model, c.verify = "gpt-5-mini", SimpleNamespace(enabled=enabled, model=None)
    return c


def test_the_expected_verify_round_counts_toward_the_cost_guard_and_is_in_the_estimate():
    # 1M input tokens cost $0.125 at batch price; the verify round of one target pushes it over $0.125
    one = [plan(spec())]
    assert apply_budget(with_verify(cfg(max_cost_usd=0.125)), one) == (one, [], None)  # eval: no verify round
    kept, _, note = apply_budget(with_verify(cfg(max_cost_usd=0.125)), one, verify=True)
    assert kept == [] and "over budget.max_cost_usd" in note
    assert apply_budget(with_verify(cfg(max_cost_usd=0.125), enabled=False), one, verify=True)[0] == one
    estimate = estimate_of(with_verify(cfg()), [spec()], verify_targets=3)
    assert estimate["verify"]["candidates_per_target"] == 2 and estimate["verify"]["requests"] == 3
    assert 0 < estimate["verify"]["batch_usd"] < 0.01 and estimate["batch_usd"] == 0.125  # beside, not in it
    assert "verify" not in estimate_of(with_verify(cfg()), [spec()])
