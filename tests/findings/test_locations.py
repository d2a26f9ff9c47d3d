"""locations.py: where a finding is shown, linked only inside the repository (each test plays the author
of a file name or a model that names a line)."""

from __future__ import annotations

import hashlib
from dataclasses import replace

from batch_review.findings.locations import blob_link, diff_link, link_prefixes
from batch_review.markdown.check import check
from tests.markdown.test_safety import BLOB, PULL, report_of

HEAD = "a" * 40


def test_a_line_on_the_diff_links_to_the_files_view_and_a_line_off_it_to_the_reviewed_commit():
    report = report_of()
    digest = hashlib.sha256(b"app.py").hexdigest()
    assert diff_link(report, "app.py", 4, "RIGHT") == f"[`app.py` line 4]({PULL}files#diff-{digest}R4)"
    assert diff_link(report, "app.py", 4, "LEFT") == f"[`app.py` old line 4]({PULL}files#diff-{digest}L4)"
    assert blob_link(report, "app.py", 4, "RIGHT") == f"[`app.py` line 4]({BLOB}{HEAD}/app.py#L4)"
    assert link_prefixes(report) == (f"{BLOB}{HEAD}/", PULL)
    assert link_prefixes(replace(report, number=None)) == (f"{BLOB}{HEAD}/",)


def test_a_hostile_listed_file_name_is_linked_in_the_files_view_by_its_digest_only():
    """The Files view address holds no part of the name; the blob address would leave blob/<sha>/."""
    name = "app.py/../../../../attacker/phish/issues/1"
    report = report_of(paths=frozenset({name}))
    on_diff = diff_link(report, name, 2, "RIGHT")
    assert "attacker" not in on_diff.split("](")[1] and on_diff.startswith("[`app.py/../")
    off_diff = blob_link(report, name, 2, "RIGHT")
    assert "](" not in off_diff and off_diff.startswith("`app.py/../")  # inert code text
    for text in (on_diff, off_diff):
        assert check(text, links=link_prefixes(report)) == []


def test_a_file_not_listed_for_the_target_is_never_a_link():
    report = report_of()
    assert diff_link(report, "secrets.py", 2, "RIGHT") == "`secrets.py` line 2"
    assert blob_link(report, "", 2, "RIGHT") == "(no file) line 2"
