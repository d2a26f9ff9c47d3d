"""github_records.py: GitHub's JSON read into plain records (pure), with answers GitHub would never send."""

from __future__ import annotations

import pytest

from batch_review.core.errors import GitHubError
from batch_review.github.records import (
    int_or_none,
    is_pending_review_conflict,
    next_link,
    pull_info,
    review_info,
)


def test_a_pull_request_keeps_the_authors_words_as_given():
    p = pull_info({"number": 7, "title": "@team <img src=x>", "state": "open", "draft": True,
                   "labels": [{"name": "a"}, {"name": "b"}], "user": {"login": "mallory"},
                   "head": {"sha": "h" * 40, "ref": "evil`branch"}, "base": {"sha": "b" * 40, "ref": "main"},
                   "body": None, "merged_at": None})
    assert (p.number, p.title, p.draft, p.labels, p.author, p.head_ref, p.body, p.merged) == (
        7, "@team <img src=x>", True, ("a", "b"), "mallory", "evil`branch", "", False)


def test_a_pull_request_without_a_number_is_refused():
    with pytest.raises(KeyError):
        pull_info({"title": "no number"})


def test_a_review_whose_user_is_not_an_object_has_no_author():
    r = review_info({"id": 3, "body": None, "user": "octocat", "state": "PENDING"})
    assert (r.id, r.body, r.author, r.author_type, r.pending) == (3, "", "", "", True)


@pytest.mark.parametrize(("value", "expected"), [(5, 5), (True, None), ("5", None), (None, None), (5.0, None)])
def test_ids_are_integers_or_none(value, expected):
    assert int_or_none(value) == expected


def test_the_next_page_comes_only_from_a_rel_next_link():
    link = '<https://api.test/r?page=1>; rel="prev", <https://api.test/r?page=3>; rel="next"'
    assert next_link({"Link": link}) == "https://api.test/r?page=3"
    assert next_link({"link": '<https://api.test/r?page=9>; rel="last"'}) is None
    assert next_link({}) is None and next_link(None) is None


def test_only_githubs_one_pending_review_answer_is_that_conflict():
    assert is_pending_review_conflict(GitHubError(422, "User can only have One Pending Review per pull request"))
    assert not is_pending_review_conflict(GitHubError(403, "one pending review"))
    assert not is_pending_review_conflict(GitHubError(422, "Validation Failed"))
