"""targets.py's pure parts: the config's rules over pull requests, and what is already done.

The stage as a whole (select_targets over GitHub and git) runs end to end in test_e2e_submit.py."""

from __future__ import annotations

from types import SimpleNamespace

from batch_review.core.vocabulary import Target
from batch_review.submit.targets import Skip, TargetSelection, drop_already_done, select_pulls

RULES = SimpleNamespace(labels=(), exclude_labels=("no-batch-review",), skip_drafts=True,
                        skip_authors=("dependabot[bot]",))


def pull(number: int, **kw) -> SimpleNamespace:
    fields = {"number": number, "state": "open", "merged": False, "draft": False, "labels": (), "author": "octocat"}
    return SimpleNamespace(**{**fields, **kw})


def target(number: int, head: str = "a" * 40) -> Target:
    return Target(kind="pull", repository="acme/widgets", base_ref="main", head_ref=f"f{number}", head_sha=head,
                  number=number)


def test_the_rules_skip_drafts_bots_and_excluded_labels_each_with_its_reason():
    pulls = [pull(1), pull(2, draft=True), pull(3, author="dependabot[bot]"), pull(4, labels=("no-batch-review",)),
             pull(5, state="closed", merged=True), pull(6, state="closed")]
    selected, skipped = select_pulls(pulls, RULES)
    assert [p.number for p in selected] == [1]
    assert skipped == [Skip("#2", "draft"), Skip("#3", "author dependabot[bot] is in targets.pull_requests.skip_authors"),
                       Skip("#4", "label 'no-batch-review' is excluded"), Skip("#5", "merged"), Skip("#6", "closed")]


def test_required_labels_must_be_present():
    rules = SimpleNamespace(**{**vars(RULES), "labels": ("review-me",)})
    selected, skipped = select_pulls([pull(1), pull(2, labels=("review-me",))], rules)
    assert [p.number for p in selected] == [2] and skipped == [Skip("#1", "has none of targets.pull_requests.labels")]


def test_named_pull_requests_bypass_the_rules_but_must_be_open_and_exist():
    pulls = [pull(1), pull(2, draft=True), pull(3, state="closed"), pull(4)]
    selected, skipped = select_pulls(pulls, RULES, only=(2, 3, 9))
    assert [p.number for p in selected] == [2]  # the draft was asked for by number; 1 and 4 were not asked for
    assert skipped == [Skip("#3", "closed"), Skip("#9", "not an open pull request of this repository")]


def test_a_head_already_done_is_skipped_and_a_new_head_is_not():
    old, new = target(1, "a" * 40), target(2, "b" * 40)
    keep, skipped = drop_already_done([old, new], {("pr-1", "a" * 40), ("pr-2", "c" * 40)})
    assert keep == [new] and skipped == [Skip("#1", f"head {'a' * 12} already submitted or reviewed")]


def test_a_selection_narrowed_again_keeps_its_skips_and_last_reviews():
    first = TargetSelection([target(1), target(2)], [Skip("#3", "draft")], {"pr-1": "marker"})
    second = first.without({("pr-2", "a" * 40)})
    assert second.targets == [target(1)] and second.last_reviews == {"pr-1": "marker"}
    assert [s.what for s in second.skipped] == ["#3", "#2"] and first.targets == [target(1), target(2)]
