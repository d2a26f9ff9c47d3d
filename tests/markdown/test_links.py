"""A link never leaves blob/<sha>/ (issue 21, item 3). The attacker is the model (it chooses the path of a
finding) and the pull request's author (a file name is theirs): `src/app.py` + 300 spaces +
`/../../../../../../attacker/phish/issues/1` became an address that opens another repository while the text
showed `src/app.py…`.

Two independent readers are the oracle: a browser (the WHATWG URL parser: tabs and newlines dropped,
`\\` as `/`, `.`/`..` and their `%2e` spellings resolved) and a paranoid server (the path decoded until it
stops changing, `\\` as `/`, NFKC, `;params` dropped, then RFC 3986 dot-segment removal). Whatever address
`stays_under` accepts, neither reader takes out of the prefix; whatever `check` lets through as a link, the
same; whatever compose links, the same, and compose still links every plain path the manifest lists.
"""

from __future__ import annotations

import html
import re
import unicodedata
from urllib.parse import quote, unquote

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from batch_review.findings.compose import review_body
from batch_review.findings.locations import blob_address
from batch_review.markdown import safety as ms
from batch_review.markdown.check import check
from batch_review.markdown.links import stays_under

from .test_safety import DIGEST, hostile, report_of

SHA = "a" * 40
PREFIX = f"https://github.com/acme/widgets/blob/{SHA}/"
PREFIX_PATH = f"/acme/widgets/blob/{SHA}/"
ISSUE_EXAMPLE = "src/app.py" + " " * 300 + "/../../../../../../attacker/phish/issues/1"


def _remove_dot_segments(segments: list[str], dot, dotdot) -> str:
    out: list[str] = []
    for i, seg in enumerate(segments):
        last = i == len(segments) - 1
        if dotdot(seg):
            if out:
                out.pop()
            if last:
                out.append("")
        elif dot(seg):
            if last:
                out.append("")
        else:
            out.append(seg)
    return "/" + "/".join(out)


def _path_part(href: str) -> str:
    rest = href.split("://", 1)[1]
    rest = re.split(r"[/\\]", rest, maxsplit=1)[1] if re.search(r"[/\\]", rest) else ""
    return re.split(r"[?#]", rest, maxsplit=1)[0]


def browser_path(href: str) -> str:
    """The path a browser requests for `href` (WHATWG URL parsing of an https URL)."""
    href = re.sub(r"[\t\n\r]", "", href).strip("".join(chr(i) for i in range(0x21)))
    segments = _path_part(href).replace("\\", "/").split("/")
    return _remove_dot_segments(segments, lambda s: s.lower() in (".", "%2e"),
                                lambda s: s.lower() in ("..", ".%2e", "%2e.", "%2e%2e"))


def server_path(href: str) -> str:
    """The path a server that decodes (repeatedly), folds and strips parameters routes on."""
    path = _path_part(re.sub(r"[\t\n\r]", "", href).strip())
    for _ in range(20):
        path, before = unquote(path), path
        if path == before:
            break
    segments = unicodedata.normalize("NFKC", path).replace("\\", "/").split("/")
    core = [s.split(";", 1)[0].strip() for s in segments]
    return _remove_dot_segments(core, lambda s: s == ".", lambda s: s == ".." or (s and not s.strip(".")))


def leaves(href: str) -> bool:
    return not all(p.startswith(PREFIX_PATH) and len(p) > len(PREFIX_PATH)
                   for p in (browser_path(href), server_path(href)))


# --- the readers agree with what they model -----------------------------------------------------------

@pytest.mark.parametrize("href", [
    PREFIX + quote(ISSUE_EXAMPLE), PREFIX + "../x", PREFIX + "%2e%2E/x", PREFIX + ".%2e/x", PREFIX + "a/../..",
    PREFIX + "a\\..\\..\\..\\x", PREFIX + ".\t./x",
])
def test_the_browser_reader_leaves_on_what_browsers_resolve(href):
    assert leaves(href) and not browser_path(href).startswith(PREFIX_PATH)


@pytest.mark.parametrize("href", [PREFIX + "%252e%252e/x", PREFIX + "..%2f..%2fx", PREFIX + "..%5cx",
                                  PREFIX + "..;x/y", PREFIX + "\uff0e\uff0e/x"])
def test_the_server_reader_leaves_on_what_decoding_servers_resolve(href):
    assert browser_path(href).startswith(PREFIX_PATH) and leaves(href)


# --- stays_under -------------------------------------------------------------------------------------------

REFUSED = [
    PREFIX + quote(ISSUE_EXAMPLE),  # the issue's attack, as compose quoted it
    PREFIX + "..", PREFIX + "../other/blob/x", PREFIX + "a/../../b", PREFIX + "%2e%2e/x", PREFIX + "%2E./x",
    PREFIX + ".%2e/x", PREFIX + "./a", PREFIX + "%252e%252e/x", PREFIX + "%25252e%25252e/x",
    PREFIX + "..%2f..%2fx", PREFIX + "..%2Fx", PREFIX + "..\\x", PREFIX + "a%5c..%5c..%5cx", PREFIX + "..;a/x",
    PREFIX + "\uff0e\uff0e/x", PREFIX + "%EF%BC%8E%EF%BC%8E/x", PREFIX + ".\t./x", PREFIX + ".\n./x",
    PREFIX + "a//b", PREFIX + "a/", PREFIX, PREFIX + "a?x=1", PREFIX + "a%00b", PREFIX + "a%0a..",
    PREFIX + "...", PREFIX + " .. /x", PREFIX + "a\u202e.py",
    "https://github.com/acme/widgets/blob/", "https://evil.test/", "javascript:alert(1)", "",
    PREFIX.replace("https://", "https:/"), " " + PREFIX[:-1],
]
ACCEPTED = [PREFIX + "app.py", PREFIX + "app.py#L12", PREFIX + "src/a%20b.py#L1", PREFIX + "100%25.txt",
            PREFIX + "a..b/.env", PREFIX + "%C3%A9t%C3%A9.py", "  " + PREFIX + "x.py\n", PREFIX + "x.py#../../y"]


@pytest.mark.parametrize("href", REFUSED)
def test_an_address_any_reader_takes_out_is_refused(href):
    assert not stays_under(href, PREFIX)


@pytest.mark.parametrize("href", ACCEPTED)
def test_a_plain_address_under_the_prefix_is_accepted(href):
    assert stays_under(href, PREFIX) and not leaves(href)


def test_the_prefix_must_be_a_folder():
    assert not stays_under(PREFIX + "app.py", PREFIX[:-1])


@pytest.mark.parametrize("prefix", ["https://github.com/../widgets/blob/x/", "https://github.com/acme/%2e%2e/blob/x/",
                                    "https://github.com/acme/widgets/blob/../"])
def test_a_prefix_that_itself_walks_up_links_nothing(prefix):
    """A repository named `..` (the manifest's, damaged or forged): every segment is read, ours too."""
    assert not stays_under(prefix + "app.py", prefix)


def test_only_the_ends_lose_spaces_and_controls():
    assert stays_under(PREFIX + "a/..!", PREFIX) and stays_under(PREFIX + 'a/.."', PREFIX)  # names, not `..`
    assert not stays_under(PREFIX + "a/.. ", PREFIX)


@pytest.mark.parametrize(("times", "accepted"), [(7, True), (8, False)])
def test_a_name_encoded_over_and_over_is_decoded_up_to_a_limit(times, accepted):
    name = "100%"
    for _ in range(times):
        name = quote(name, safe="")
    assert stays_under(PREFIX + name, PREFIX) is accepted


HOSTILE_PATH = st.lists(st.sampled_from(list("./\\%25eEfFc; \t\nab") + [
    "%2e", "%2E", "%2f", "%5c", "%25", "..", "\uff0e", "\u2024", "#", "?", " " * 300]), max_size=40).map("".join)


@settings(max_examples=2_000, deadline=None)
@given(HOSTILE_PATH)
@example(ISSUE_EXAMPLE)
def test_no_accepted_address_leaves_under_either_reader(tail):
    for href in (PREFIX + tail, PREFIX + quote(tail, errors="replace"), PREFIX + quote(tail, safe="/%\\")):
        if stays_under(href, PREFIX):
            assert not leaves(href), href


# --- check: a link GitHub renders from any markdown ---------------------------------------------------

@settings(max_examples=1_000, deadline=None)
@given(HOSTILE_PATH)
@example("..%2f..%2fx")
@example("%2e%2e/%2e%2e/x")
def test_the_body_check_refuses_every_rendered_link_that_leaves(tail):
    """Whatever the markdown (an autolink, an inline link, angle brackets), a rendered href that a reader
    takes out of the prefix is a problem for check()."""
    for markdown in (f"[x]({PREFIX}{tail})", f"[x](<{PREFIX}{tail}>)", f"<{PREFIX}{tail}>"):
        hrefs = [html.unescape(h) for h in re.findall(r'href="([^"]*)"', ms.render(markdown))]
        if any(leaves(h) for h in hrefs):
            assert any("a link we did not make" in p for p in check(markdown, links=(PREFIX,))), markdown


# --- compose: only listed paths, only addresses that stay ------------------------------------------------

def hrefs_of(body: str) -> list[str]:
    return [html.unescape(h) for h in re.findall(r'href="([^"]*)"', ms.render(body))]


def test_the_issues_path_chosen_by_the_model_is_inert_text():
    body = review_body(report_of(hostile(path=ISSUE_EXAMPLE, line=1)), DIGEST)
    assert hrefs_of(body) == [] and "attacker" not in body and f"]({PREFIX}" not in body
    assert "at `src/app.py…` line 1 ·" in body  # code text, clipped at 300 characters: it opens nothing


def test_a_listed_path_is_linked_and_an_unlisted_one_is_not():
    body = review_body(report_of(hostile(path="./app.py", line=3), hostile(path="other.py", line=4)), DIGEST)
    assert hrefs_of(body) == [PREFIX + "app.py#L3"]
    assert "[`app.py` line 3](" in body and "`other.py` line 4" in body  # the link shows the path it opens


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(HOSTILE_PATH, st.booleans())
@example(ISSUE_EXAMPLE, True)
@example("%2e%2e/%2e%2e/x", True)
def test_no_composed_link_leaves_whatever_the_path_and_whether_listed(path, listed):
    """The path as the model wrote it, listed by the manifest (a pull request's own file name) or not."""
    report = report_of(hostile(path=path, line=7), paths=frozenset({path}) if listed else frozenset({"app.py"}))
    body = review_body(report, DIGEST)
    for href in hrefs_of(body):
        assert listed and not leaves(href), href
    address = blob_address(report, path, 7)
    assert address is None or not leaves(address), address


PLAIN_PATH = st.lists(st.from_regex(r"[A-Za-z0-9_-][A-Za-z0-9_.-]{0,12}", fullmatch=True), min_size=1,
                      max_size=4).map("/".join).filter(lambda p: all(s.strip(".") for s in p.split("/")))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(PLAIN_PATH, st.integers(1, 10**6))
def test_every_plain_listed_path_is_linked_to_its_line(path, line):
    body = review_body(report_of(hostile(path=path, line=line), paths=frozenset({path})), DIGEST)
    assert hrefs_of(body) == [f"{PREFIX}{quote(path)}#L{line}"]
