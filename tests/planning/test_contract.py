"""planning/contract.py: the output cap and the shared prefix, counted exactly."""

from __future__ import annotations

import json

from batch_review.core.diffs import parse_diff
from batch_review.planning.contract import output_cap, shared_prefix

from .requests_fixture import DIFF, builder, file_requests


def test_output_cap_scales_with_the_request_and_the_estimate_counts_it():
    assert output_cap(0, 4096) == 1024 and output_cap(2000, 4096) == 2024 and output_cap(50_000, 4096) == 4096
    assert output_cap(100, 300) == 300
    small = file_requests(builder(), "pr-1", 0, parse_diff(DIFF)[0])[0][0]
    big_diff = DIFF + "".join(f"+    line_{i} = compute({i})\n" for i in range(2000))
    big_diff = big_diff.replace("@@ -10,4 +10,5 @@", "@@ -10,4 +10,2005 @@")
    big = file_requests(builder(max_input_tokens=200_000), "pr-1", 0, parse_diff(big_diff)[0])[0][0]
    assert small.max_output_tokens == output_cap(small.est_input_tokens, 2048) < big.max_output_tokens == 2048
    assert small.body["max_completion_tokens"] == small.max_output_tokens


def test_the_fixed_prefix_is_counted_exactly(o200k):
    """The default instructions, output contract and schema are the same bytes in every request: their
    o200k_base count is pinned in contract.py; a change to any of them must update it."""
    from batch_review.core.vocabulary import DEFAULT_INSTRUCTIONS
    from batch_review.planning.contract import (
        DEFAULT_INSTRUCTIONS_TOKENS,
        DEFAULT_PREFIX_TOKENS,
        MESSAGE_FRAMING,
    )

    assert len(o200k.encode(DEFAULT_INSTRUCTIONS.strip())) == DEFAULT_INSTRUCTIONS_TOKENS
    for summary in (False, True):
        p = shared_prefix(DEFAULT_INSTRUCTIONS, summary=summary)
        exact = len(o200k.encode(p.system)) + len(o200k.encode(json.dumps(p.schema)))
        assert exact == DEFAULT_PREFIX_TOKENS[summary] and p.tokens == exact + MESSAGE_FRAMING
    custom = shared_prefix("Only look for SQL injection.").tokens
    assert abs(custom - (DEFAULT_PREFIX_TOKENS[False] - DEFAULT_INSTRUCTIONS_TOKENS + 7 + 7)) <= 4
