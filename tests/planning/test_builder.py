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
