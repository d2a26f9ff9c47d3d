"""planning/builder.py: a packed request made into one body; what cannot fit is said."""

from __future__ import annotations

from batch_review.core.diffs import parse_diff
from batch_review.planning.contract import shared_prefix

from .requests_fixture import DIFF, builder, file_requests


def test_file_too_large_and_budget_too_small():
    fd = parse_diff(DIFF)[0]
    assert file_requests(builder(), "pr-1", 0, fd, max_file_chars=50)[1].startswith("diff is ")
    tiny = builder(max_input_tokens=shared_prefix("Find bugs.").tokens + 10)
    assert file_requests(tiny, "pr-1", 0, fd)[1].startswith("max_input_tokens leaves no room")


def test_text_the_model_only_reads_does_not_raise_the_output_cap():
    """The repository's rules (planning/rules.py) are input to read, not more to answer: the output cap
    grows with the rest of the request only."""
    from batch_review.planning.builder import RequestBuilder
    from batch_review.planning.contract import output_cap

    builder = RequestBuilder(model="gpt-5-mini", endpoint="/v1/chat/completions", instructions="Review.",
                             max_output_tokens=100_000, max_input_tokens=100_000)
    plain = builder.spec("pr-1:0000:0", "diff", (), 4000)
    with_rules = builder.spec("pr-1:0000:0", "rules\ndiff", (), 6000, read_only=2000)
    assert with_rules.est_input_tokens == 6000 and with_rules.max_output_tokens == plain.max_output_tokens \
        == output_cap(4000, 100_000)
