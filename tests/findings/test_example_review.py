"""docs/example-review.md is what the product posts: tools/example_review.py composes it again with the
product's own composer, and it must be the committed page, character for character (issue 22)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from batch_review.core.vocabulary import SEVERITIES
from batch_review.findings.locations import link_prefixes
from batch_review.markdown.check import check

from ..markdown_view import shows

ROOT = Path(__file__).resolve().parents[2]


def tool():
    spec = importlib.util.spec_from_file_location("example_review", ROOT / "tools" / "example_review.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_committed_example_is_what_the_composer_writes_today():
    assert (ROOT / "docs" / "example-review.md").read_text(encoding="utf-8") == tool().document(), \
        "run: python tools/example_review.py"
    assert tool().main(["--check"]) == 0


def test_the_example_shows_every_severity_a_removed_line_and_a_finding_off_the_diff():
    example = tool().example()
    assert {f.severity for f in example.findings} == set(SEVERITIES)
    assert any(c.side == "LEFT" for c in example.inline) and example.unplaced


def test_the_example_body_passes_the_check_every_posted_body_passes():
    body, comments = tool().pieces()
    assert check(body, leading=1, links=link_prefixes(tool().example())) == []
    assert all(check(text) == [] for _, text in comments)
    assert shows(body, "🔴 1 critical · 🟠 1 high · 🟡 2 medium · 🔵 1 low · ⚪ 1 info")


def test_the_page_for_the_screenshot_holds_the_body_and_every_inline_comment(tmp_path):
    page = tmp_path / "page.html"
    assert tool().main(["--html", str(page), "--check"]) == 0
    text = page.read_text(encoding="utf-8")
    assert text.count('class="box"') == 1 + len(tool().example().inline) and "batch-review: 6 findings" in text
    assert (ROOT / "docs" / "example-review.png").stat().st_size > 10_000  # the screenshot the page links
