"""poll/dismissals.py (pure): whose dismissal counts, and that a flood of reactions cannot spend the budget."""

from __future__ import annotations

import types

from batch_review.core.markers import Identity, Marker, finding_html, fingerprints_html
from batch_review.core.provenance import Provenance
from batch_review.github.threads import PullThreads, Thread, ThreadComment
from batch_review.poll.dismissals import Permissions, judge, proven_reviews

FP = "0123456789abcdef"
BOT = "github-actions[bot]"
TRUST = Provenance(Identity(), "acme/widgets")  # no key: our identity is believed (the warned setup)


def review(rid: int, author: str = BOT, fps=(FP,)):
    body = f"{Marker('pr-1', 'a' * 40, 'd' * 16).html()}\n{fingerprints_html(fps)}\ntext"
    return types.SimpleNamespace(id=rid, body=body, author=author, pending=False)


def ours(down=(), review_id: int = 1, author: str = BOT) -> ThreadComment:
    return ThreadComment(10, "app.py", author, f"{finding_html(FP)}\n**high** · bug — Division by zero", review_id,
                         tuple(down))


def pull(*threads: Thread) -> PullThreads:
    return PullThreads(1, "octocat", threads)


def test_a_flood_of_reactions_asks_a_bounded_number_of_permissions():
    asked = []
    perms = Permissions(lambda login: asked.append(login) or "read", limit=5)
    proven = proven_reviews([review(1)], "pr-1", TRUST)
    out = judge(pull(Thread(None, (ours([f"u{i}" for i in range(500)]),))), proven, TRUST, perms)
    assert len(asked) == 5 and out.counted == {} and out.ignored == 500 and perms.skipped == 495


def test_only_writers_and_the_author_count_and_the_title_is_read_back():
    perms = Permissions({"bob": "write", "carol": "admin", "mallory": "read"}.get)
    proven = proven_reviews([review(1)], "pr-1", TRUST)
    out = judge(pull(Thread(None, (ours(["mallory", "bob"]),))), proven, TRUST, perms)
    (d,) = out.counted.values()
    assert (d.by, d.author, d.title, d.severity, d.path) == ("bob", False, "Division by zero", "high", "app.py")
    assert out.ignored == 1 and out.for_memory() == [d]
    out = judge(pull(Thread(None, (ours(["octocat"]),))), proven, TRUST, perms)
    assert out.hidden() == {FP: "octocat"} and out.for_memory() == []


def test_nothing_counts_on_a_comment_we_cannot_prove():
    perms = Permissions(lambda login: "admin")
    identity = TRUST
    cases = [
        ([review(1)], ours(["bob"], author="mallory")),  # not our identity's comment
        ([review(1)], ours(["bob"], review_id=2)),  # in a review we do not believe
        ([review(1, author="mallory")], ours(["bob"])),  # the review is someone else's
        ([review(1, fps=("f" * 16,))], ours(["bob"])),  # the review does not list the comment's fingerprint
    ]
    for reviews, comment in cases:
        assert judge(pull(Thread("bob", (comment,))), proven_reviews(reviews, "pr-1", identity), identity,
                     perms).counted == {}


def test_our_own_identity_never_dismisses():
    perms = Permissions(lambda login: "admin")
    proven = proven_reviews([review(1)], "pr-1", TRUST)
    reply = ThreadComment(11, "app.py", BOT, "ok", 3, ())
    assert judge(pull(Thread(BOT, (ours([BOT]), reply))), proven, TRUST, perms).counted == {}


def test_the_heading_is_read_back_as_the_composer_writes_it():
    """What the memory keeps comes from our own inline comment's heading: read back from the body the
    composer writes today (a severity label, a category, a title with markdown in it), not from a copy of
    an older layout."""
    from batch_review.core.vocabulary import Finding
    from batch_review.findings.anchoring import InlineComment
    from batch_review.findings.compose import inline_body

    f = Finding(custom_id="pr-1:0001:0", path="app.py", line=2, start_line=None, side="RIGHT", severity="critical",
                category="sql_injection", title="Query built from `order_id` *as is*", body="It breaks.",
                suggestion=None)
    body = inline_body(InlineComment("app.py", 2, "RIGHT", None, f, False), None, FP)
    comment = ThreadComment(10, "app.py", BOT, body, 1, ("bob",))
    perms = Permissions({"bob": "write"}.get)
    (d,) = judge(pull(Thread(None, (comment,))), proven_reviews([review(1)], "pr-1", TRUST), TRUST,
                 perms).counted.values()
    assert (d.severity, d.category, d.title) == ("critical", "sql_injection", "Query built from `order_id` *as is*")
