"""markers.py, pure: the marker and fingerprints that let batch-review find its own work again.

A marker or fingerprint that reads wrong either posts a review twice (ours not recognised) or skips a
pull request / hides a finding (someone else's taken for ours); a fingerprint that drifts between releases
re-posts every finding an earlier review already made.
"""

from __future__ import annotations

import dataclasses
import types

import pytest

from batch_review.core.markers import (
    DIGEST_CHARS,
    Identity,
    Marker,
    fingerprint,
    fingerprints_html,
    from_external_id,
    marker_of,
    read_fingerprints,
    read_marker,
)

HEAD, BASE, DIGEST = "a" * 40, "b" * 40, "0123456789abcdef" * 4


def test_the_marker_names_the_digest_prefix_the_part_and_the_base_only_when_there_is_one():
    assert DIGEST_CHARS == 16
    assert Marker("pr-12", HEAD, DIGEST, 2).html() == (
        f"<!-- batch-review:v1 target=pr-12 head={HEAD} manifest=0123456789abcdef part=2 -->")
    assert Marker("pr-12", HEAD, DIGEST, base=BASE).html() == (
        f"<!-- batch-review:v1 target=pr-12 head={HEAD} base={BASE} manifest=0123456789abcdef part=1 -->")
    assert Marker("main...f", HEAD, DIGEST).external_id() == f"batch-review:v1:main...f:{HEAD}:0123456789abcdef"


@pytest.mark.parametrize("marker", [Marker("pr-12", HEAD, DIGEST[:16], 3, BASE), Marker("pr-1", HEAD, DIGEST[:16]),
                                    Marker("main...feature_x", "abcdef1", "12345678")])
def test_a_marker_reads_back_as_written(marker):
    assert read_marker(marker.html()) == marker
    assert read_marker(marker.html() + "\nthe review") == marker
    back = from_external_id(marker.external_id())
    assert back == Marker(marker.target, marker.head, marker.manifest) and back.same_posting(marker)


def test_a_marker_without_part_or_base_reads_as_part_1_without_base():
    m = read_marker(f"<!-- batch-review:v1 target=pr-3 head={HEAD} manifest=0123456789abcdef -->")
    assert (m.part, m.base) == (1, "")


@pytest.mark.parametrize("text", [
    None, "", "no marker", f" <!-- batch-review:v1 target=pr-3 head={HEAD} manifest=0123456789abcdef -->",
    f"<!-- batch-review:v1 target=pr 3 head={HEAD} manifest=0123456789abcdef -->",
    "<!-- batch-review:v1 target=pr-3 head=XYZ manifest=0123456789abcdef -->",
    f"<!-- batch-review:v2 target=pr-3 head={HEAD} manifest=0123456789abcdef -->",
])
def test_anything_but_a_well_formed_marker_at_character_0_is_not_a_marker(text):
    assert read_marker(text) is None and read_fingerprints(text) == set()


@pytest.mark.parametrize("external_id", [None, "", "something-else", f"batch-review:v1:pr-1:{HEAD}:0123",
                                         f"x batch-review:v1:pr-1:{HEAD}:0123456789abcdef"])
def test_a_foreign_external_id_is_not_ours(external_id):
    assert from_external_id(external_id) is None


@pytest.mark.parametrize("other, same", [
    (Marker("pr-1", HEAD, DIGEST), True),
    (Marker("pr-1", HEAD, DIGEST[:16], part=2, base=BASE), True),  # another part of the same posting
    (Marker("pr-1", HEAD, DIGEST[:15] + "0"), False),
    (Marker("pr-2", HEAD, DIGEST), False),
    (Marker("pr-1", "c" * 40, DIGEST), False),
])
def test_same_posting_compares_target_head_and_digest_prefix(other, same):
    assert Marker("pr-1", HEAD, DIGEST).same_posting(other) is same
    assert other.same_posting(Marker("pr-1", HEAD, DIGEST)) is same


def test_fingerprints_are_read_from_the_line_right_after_the_marker_only():
    m = Marker("pr-1", HEAD, DIGEST)
    fps = fingerprints_html(["fedcba9876543210", "0123456789abcdef", "0123456789abcdef"])
    assert fps == "<!-- batch-review:fingerprints 0123456789abcdef fedcba9876543210 -->"
    assert fingerprints_html([]) == "<!-- batch-review:fingerprints -->"
    assert read_fingerprints(f"{m.html()}\n{fps}\ntext") == {"0123456789abcdef", "fedcba9876543210"}
    assert read_fingerprints(f"{m.html()}\n{fps}") == {"0123456789abcdef", "fedcba9876543210"}
    assert read_fingerprints(f"{m.html()}\n{fingerprints_html([])}\ntext") == set()
    assert read_fingerprints(m.html()) == set()
    assert read_fingerprints(f"{m.html()}\n\n{fps}") == set()


@pytest.mark.parametrize("login, author, wrote", [
    ("github-actions[bot]", "github-actions[bot]", True),
    ("github-actions[bot]", "GitHub-Actions[BOT]", True),
    ("github-actions[bot]", "github-actions", False),
    ("github-actions[bot]", "mallory", False),
    ("github-actions[bot]", None, False),
    ("github-actions[bot]", "", False),
    ("alice", "Alice", True),
])
def test_only_our_login_writes_for_us(login, author, wrote):
    assert Identity(login).wrote(author) is wrote
    review = types.SimpleNamespace(body=Marker("pr-1", HEAD, DIGEST).html(), author=author)
    assert (marker_of(review, Identity(login)) is not None) is wrote


@pytest.mark.parametrize("login, slug, app, ran", [
    ("github-actions[bot]", "github-actions", "github-actions", True),
    ("github-actions[bot]", "github-actions", "GitHub-Actions", True),
    ("my-app[bot]", "my-app", "my-app", True),
    ("my-app[bot]", "my-app", "github-actions", False),
    ("my-app[bot]", "my-app", None, False),
    ("my-app[bot]", "my-app", "", False),
    ("alice", None, "alice", False),  # a personal token creates no check runs
    ("alice", None, None, False),
])
def test_only_our_app_runs_for_us(login, slug, app, ran):
    assert Identity(login).app_slug == slug
    assert Identity(login).ran(app) is ran


def test_a_marker_and_an_identity_cannot_be_changed_once_read():
    """One Identity and the markers read from GitHub are shared by the whole poll run: nothing may change
    whose login is believed or which posting a marker names (and a marker must stay usable as a key)."""
    with pytest.raises(dataclasses.FrozenInstanceError):
        Identity().login = "mallory"
    marker = Marker("pr-1", HEAD, DIGEST)
    with pytest.raises(dataclasses.FrozenInstanceError):
        marker.head = "c" * 40
    assert {marker: 1}[Marker("pr-1", HEAD, DIGEST)] == 1


def test_a_review_without_an_author_attribute_is_not_ours():
    assert marker_of(types.SimpleNamespace(body=Marker("pr-1", HEAD, DIGEST).html()), Identity()) is None


# --- fingerprints: what makes two findings the same across reviews -------------------------------------------

def test_fingerprints_are_pinned_across_releases():
    """Earlier reviews carry fingerprints written by earlier releases: if the algorithm drifts, every
    finding they posted is posted again."""
    assert fingerprint("src/a.py", "RIGHT", 3735928559, "Off by one") == "8ec811e8250cc231"
    assert fingerprint("src/a.py", "LEFT", None, "Off by one") == "0284f27abc26a5ea"


@pytest.mark.parametrize("title", ["Off by one", "off by one", "OFF BY ONE!", "  Off-by-one.  ", "Off\tby\none",
                                   "Off, by: one?"])
def test_a_title_differing_only_in_case_punctuation_and_spacing_is_the_same_finding(title):
    assert fingerprint("a.py", "RIGHT", 7, title) == fingerprint("a.py", "RIGHT", 7, "Off by one")
    assert fingerprint("a.py", "RIGHT", 7, title, "bug") == fingerprint("a.py", "RIGHT", 7, "Off by one", "bug")


def test_the_category_is_part_of_the_fingerprint_in_its_normal_form():
    """Issue 20: path, line content, category and title. A category the schema does not know is "other";
    case and spaces around it do not matter; no category at all is the older releases' form."""
    fp = fingerprint("a.py", "RIGHT", 7, "Off by one", "bug")
    assert fp == fingerprint("a.py", "RIGHT", 7, "Off by one", " BUG ")
    assert fp != fingerprint("a.py", "RIGHT", 7, "Off by one", "security")
    assert fp != fingerprint("a.py", "RIGHT", 7, "Off by one")
    assert fingerprint("a.py", "RIGHT", 7, "x", "made-up") == fingerprint("a.py", "RIGHT", 7, "x", "other")
    assert fingerprint("src/a.py", "RIGHT", 3735928559, "Off by one", "bug") == "78227f819bfbae76"


def test_a_rebase_that_moves_the_code_and_a_reworded_title_keep_the_fingerprint():
    """The same finding after a rebase (the commented line now 30 lines further down, its indentation
    changed by a re-wrap) and a re-worded title (case, punctuation, spacing) is the same finding."""
    from batch_review.core.diffs import line_hash, parse_diff, right_line_hashes

    def fp_at(diff, line, title):
        (fd,) = parse_diff(diff)
        return fingerprint(fd.path, "RIGHT", line_hash(right_line_hashes(fd.hunks), line), title, "bug")

    before = "--- a/a.py\n+++ b/a.py\n@@ -1,1 +1,2 @@\n x = 1\n+y = x / 0\n"
    after = "--- a/a.py\n+++ b/a.py\n@@ -31,1 +31,2 @@\n x = 1\n+    y = x / 0  \n"
    assert fp_at(before, 2, "Division by zero") == fp_at(after, 32, "division-by-zero!")
    assert fp_at(before, 2, "Division by zero") != fp_at(after, 31, "Division by zero")  # another line's code


@pytest.mark.parametrize("path, side, line_hash, title", [
    ("b.py", "RIGHT", 7, "Off by one"),        # another file
    ("a.py", "LEFT", 7, "Off by one"),         # the other side
    ("a.py", "RIGHT", 8, "Off by one"),        # another line content
    ("a.py", "RIGHT", None, "Off by one"),     # a line whose content is unknown
    ("a.py", "RIGHT", 7, "Off by two"),        # another title
    ("a.py", "RIGHT", 7, "Offby one"),         # words run together are other words
])
def test_anything_else_that_differs_is_another_finding(path, side, line_hash, title):
    assert fingerprint(path, side, line_hash, title) != fingerprint("a.py", "RIGHT", 7, "Off by one")


def test_a_fingerprint_is_sixteen_hex_digits_even_for_hostile_text():
    for title in ("", "\ud800 lone surrogate", "x" * 100_000, "<!-- -->\n"):
        fp = fingerprint("p\0ath", "RIGHT", None, title)
        assert len(fp) == 16 and set(fp) <= set("0123456789abcdef")


# --- de-duplication against earlier reviews: the fingerprint of a finding on the diff ----------------------------
# (review.finding_fingerprint: the file as the diff names it, and the content of the commented line)

def _finding(line, title="Off by one", side="RIGHT", path="src/a.py", category="bug"):
    return types.SimpleNamespace(path=path, side=side, line=line, title=title, category=category)


def _fp(finding):
    from batch_review.core.diffs import CommentableLines
    from batch_review.ledger.manifest import ReviewedFile
    from batch_review.poll.review import finding_fingerprint

    files = {"src/a.py": ReviewedFile.of(CommentableLines(), [[10, [111, 222, 111]], [40, [333]]])}  # lines 10-12, 40
    return finding_fingerprint(files, finding)


def test_the_same_title_on_another_line_of_the_same_file_is_another_finding():
    """Two distinct bugs with one title in one file: the second is not dropped as already posted."""
    assert _fp(_finding(10)) != _fp(_finding(11))
    assert _fp(_finding(11)) != _fp(_finding(40))


def test_a_finding_on_a_line_whose_content_moved_is_the_same_finding():
    """Line 10 and line 12 hold the same text (crc 111): the number moves, the content decides."""
    assert _fp(_finding(10)) == _fp(_finding(12)) == fingerprint("src/a.py", "RIGHT", 111, "off by one", "bug")
    assert _fp(_finding(11, title="OFF BY ONE!")) == fingerprint("src/a.py", "RIGHT", 222, "Off by one", "bug")


@pytest.mark.parametrize("line", [9, 13, 39, 41, None])
def test_a_finding_outside_the_hunks_has_no_line_content(line):
    """One line before or past a hunk: no crc (never the neighbour's, never an index past the list)."""
    assert _fp(_finding(line)) == fingerprint("src/a.py", "RIGHT", None, "Off by one", "bug")


def test_a_finding_on_the_old_side_ignores_the_new_sides_line_content():
    assert _fp(_finding(10, side="LEFT")) == _fp(_finding(11, side="LEFT")) == fingerprint(
        "src/a.py", "LEFT", None, "Off by one", "bug")


def test_a_path_the_model_decorated_is_the_file_the_diff_names():
    assert _fp(_finding(11, path="./src/a.py")) == _fp(_finding(11, path="b/src/a.py")) == _fp(_finding(11))
    assert _fp(_finding(11, path="src/other.py")) == fingerprint("src/other.py", "RIGHT", None, "Off by one", "bug")
