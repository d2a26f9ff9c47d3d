"""Where a finding is, as people read it: a link to its line, or inert code text (pure).

A finding on the diff links to its line in the pull request's Files view (words.files_view_address) while
the pull request is still at the reviewed commit; any other finding, and one on the diff after the pull
request moved on, links to its line in the reviewed commit (`…/blob/<sha>/<path>#L<n>`). A file becomes a
link only when the manifest lists that path for the target and the address stays under its prefix however
browsers and servers read it (markdown/links.py); any other path is inert code text, clipped. The report
is read duck-typed (compose.TargetReport): paths, number, server_url, repository, head_sha, current_head.
"""

from __future__ import annotations

from urllib.parse import quote

from ..core.vocabulary import LEFT
from ..markdown import safety as ms
from ..markdown.links import stays_under
from .anchoring import resolve_path
from .words import files_view_address, pull_prefix

MAX_FOREIGN = 300  # a path, reason or message that came from a manifest or a service


def path_text(path: str) -> str:
    return ms.code_span(ms.clip(path or "", MAX_FOREIGN)) or "(no file)"


def blob_link(report, path: str, line: int | None, side: str) -> str:
    """`path` line N as a link to that line of the reviewed commit, when the manifest lists the path for
    this target and its address stays under blob/<sha>/ however it is read; else as inert code text."""
    listed = resolve_path(path, report.paths) if path and side != LEFT else None
    address = blob_address(report, listed, line) if listed else None
    if address is None:
        where = path_text(path) + (f" line {line}" if line else "")
        return where + (" (old side)" if line and side == LEFT else "")
    return f"[{path_text(listed)}{f' line {line}' if line else ''}]({address})"


def diff_link(report, path: str, line: int | None, side: str) -> str:
    """A finding on the diff: its line in the pull request's Files view (words.files_view_address) while
    the pull request is still at the reviewed commit; else its line in the reviewed commit (a line of
    the new side) or inert code text."""
    listed = resolve_path(path, report.paths) if path else None
    address = files_address(report, listed, line, side) if listed else None
    if address is None:
        return blob_link(report, path, line, side)
    return f"[{path_text(listed)} {'old line' if side == LEFT else 'line'} {line}]({address})"


def files_address(report, path: str, line: int | None, side: str) -> str | None:
    """The Files view address of a line of a listed file, or None (no pull request, or it moved on)."""
    if report.number is None or (report.current_head and report.current_head != report.head_sha):
        return None
    address = files_view_address(report.server_url, report.repository, report.number, path, line, side)
    return address if stays_under(address, pull_prefix(report.server_url, report.repository,
                                                       report.number)) else None


def blob_address(report, path: str, line: int | None) -> str | None:
    """The address of `path` (line `line`) in the reviewed commit, or None when any reading of it would
    leave blob/<sha>/ (markdown/links.py): a file name is the pull request author's text."""
    address = f"{blob_prefix(report)}{quote(path, errors='replace')}{f'#L{line}' if line else ''}"
    return address if stays_under(address, blob_prefix(report)) else None


def blob_prefix(report) -> str:
    return f"{report.server_url}/{quote(report.repository)}/blob/{quote(report.head_sha)}/"


def link_prefixes(report) -> tuple[str, ...]:
    """Where our links may go: the reviewed commit's files, and the pull request's own pages."""
    if report.number is None:
        return (blob_prefix(report),)
    return blob_prefix(report), pull_prefix(report.server_url, report.repository, report.number)
