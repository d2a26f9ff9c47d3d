"""words.py: severity labels, counts by severity, and Files view addresses (issue 22)."""

from __future__ import annotations

import hashlib

from batch_review.findings.words import MARKS, files_view_address, label, pull_prefix, severity_counts


def test_a_label_is_a_mark_and_the_word_so_it_reads_without_colour():
    assert label("critical") == "🔴 **critical**" and label("low", bold=False) == "🔵 low"
    assert label("nonsense") == "🟡 **medium**"  # an unknown severity is shown as medium, as results.py does
    assert len(set(MARKS.values())) == 5  # every severity looks different


def test_severity_counts_is_one_line_most_severe_first():
    assert severity_counts(["low", "critical", "low", "info", "high"]) == "🔴 1 critical · 🟠 1 high · 🔵 2 low · ⚪ 1 info"
    assert severity_counts(["medium"], marks=False) == "1 medium"
    assert severity_counts([]) == ""


def test_the_files_view_anchor_is_diff_and_the_sha256_of_the_path_then_the_side_and_line():
    """GitHub names each file of a pull request's Files view `diff-<sha256 hex of its path>`; a line is
    R<n> on the new side, L<n> on the old (the form pr-agent's GitHub provider links to as well)."""
    digest = hashlib.sha256(b"src/app.py").hexdigest()
    base = "https://github.com/acme/widgets/pull/42/files#diff-"
    assert files_view_address("https://github.com", "acme/widgets", 42, "src/app.py", 12, "RIGHT") == \
        f"{base}{digest}R12"
    assert files_view_address("https://github.com", "acme/widgets", 42, "src/app.py", 3, "LEFT") == f"{base}{digest}L3"
    assert files_view_address("https://github.com", "acme/widgets", 42, "src/app.py", None, "RIGHT") == \
        f"{base}{digest}"


def test_a_hostile_path_never_appears_in_the_address():
    path = "a/../../../../attacker/phish/issues/1 @admin #5 %2e%2e"
    address = files_view_address("https://github.com", "acme/widgets", 7, path, 1, "RIGHT")
    assert address.startswith(pull_prefix("https://github.com", "acme/widgets", 7) + "files#diff-")
    assert "attacker" not in address and ".." not in address and "@" not in address
