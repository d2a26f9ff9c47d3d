"""The requests of one target: its context, then its files packed whole into as few requests as fit (pure).

Files go in a stable order with the files of one directory together (by directory, then path). A request
takes whole files while they fit the per-request input budget (max_input_tokens less the shared prefix
and the target's context); a file over the budget on its own gets requests of its own, split between
hunks (prompts.chunk_hunks). Files routed to different models never share a request. With request_unit
"file", every file gets its own request(s).

custom_id: `<target key>:<index in the target's diff of the request's first file, 4 digits>:<part of that
file>`, unique in a target and the same for the same diff.
"""

from __future__ import annotations

import itertools
import posixpath
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

from ..core.diffs import FileDiff
from ..core.vocabulary import FilePart
from .prompts import (
    RequestBuilder,
    RequestSpec,
    chunk_hunks,
    clip_description,
    custom_id,
    estimate_tokens,
    file_header,
    has_sections,
    one_line,
    quoted_lines,
    render_hunk,
)

MAX_LISTED_FILES = 100  # files named in a target's context; the rest are counted
MIN_DIFF_BUDGET = 200


@dataclass(frozen=True, slots=True)
class FileItem:
    """A file of the target that is to be reviewed."""

    index: int  # position in the target's diff
    fd: FileDiff
    model: str
    extra: tuple[str, ...] = ()


def line_counts(fd: FileDiff) -> tuple[int, int]:
    """(added, removed) lines of a file, in one pass."""
    added = removed = 0
    for hunk in fd.hunks:
        for ln in hunk:
            kind = ln.line_type
            added += kind == "+"
            removed += kind == "-"
    return added, removed


def sort_key(path: str) -> tuple[str, str]:
    return posixpath.dirname(path), path


@dataclass(frozen=True, slots=True)
class Context:
    """A target's own context: `head` (title, branches, the author's description, framed) and every
    changed file, sorted by directory, as `files` entries (path, framed directory, framed 'name +a -r',
    reviewed). A request lists only the files it does not show: its own files' lines are in front of
    the model already."""

    head: str
    files: tuple[tuple[str, str, str, bool], ...] = ()
    paths: frozenset[str] = frozenset()

    def text(self, shown: Collection[str] = ()) -> str:
        """The context as a request that shows the files `shown` reads it."""
        listed = list(itertools.islice((f for f in self.files if f[0] not in shown), MAX_LISTED_FILES))
        if not listed:
            return self.head
        lines = [self.head.rstrip("\n")]
        for title, reviewed in (("Other files of this change:", True), ("Not reviewed:", False)):
            group = [f for f in listed if f[3] is reviewed]
            if group:
                lines.append(title)
                lines.extend(_by_directory(group))
        more = len(self.files) - len(listed) - sum(path in self.paths for path in shown)
        if more > 0:
            lines.append(f"- and {more} more files")
        return "\n".join(line for line in lines if line) + "\n"


def _by_directory(files: Sequence[tuple[str, str, str, bool]]) -> list[str]:
    """'- <directory>/ <name> +<added> -<removed>, ...': one line per directory."""
    out = []
    for directory, group in itertools.groupby(files, lambda f: f[1]):
        names = ", ".join(f[2] for f in group)
        out.append(f"- {directory}/ {names}" if directory else f"- {names}")
    return out


def target_context(target, listing: Sequence[tuple[str, int, int, bool]], max_description_chars: int) -> Context:
    """The target's own context: title, branches, the author's description, every changed file with its
    counts (`listing`: path, added, removed, reviewed). Author text is framed by prompts.one_line and
    prompts.quoted_lines, so none of it can end its section or start a file."""
    lines = []
    if target.kind == "pull":
        by = f" by {one_line(target.author)}" if target.author else ""
        lines.append(f"Pull request #{target.number}{by}: {one_line(target.title)}")
    lines.append(f"Branches: {one_line(target.head_ref)} into {one_line(target.base_ref)}")
    description = clip_description(getattr(target, "body", "") or "", max_description_chars)
    if description:
        lines.append("Description by the author:")
        lines.extend(quoted_lines(description))
    files = tuple((path, one_line(posixpath.dirname(path)), f"{one_line(posixpath.basename(path))} +{added} -{removed}",
                   reviewed) for path, added, removed, reviewed in sorted(listing, key=lambda f: sort_key(f[0])))
    return Context("\n".join(lines) + "\n", files, frozenset(f[0] for f in files))


@dataclass
class _Rendered:
    item: FileItem
    hunks: list[list[str]]
    counts: tuple[int, int]
    text: str
    tokens: int


def _render(item: FileItem, max_file_chars: int | None) -> _Rendered | str:
    """The file ready to pack, or why it is not reviewed."""
    hunks, added, removed, previous = [], 0, 0, None
    sections = has_sections(item.fd.path)
    for hunk in item.fd.hunks:
        lines, a, r = render_hunk(hunk, previous, sections)
        previous = hunk.section_header, lines
        hunks.append(lines)
        added += a
        removed += r
    if added == 0:
        return "lines removed only"
    # a bare '@@' right under the file's header separates nothing
    body = "\n".join(itertools.chain.from_iterable(hunks if hunks[0][0] != "@@" else [hunks[0][1:], *hunks[1:]]))
    body += "\n"
    if max_file_chars is not None and len(body) > max_file_chars:
        return f"diff is {len(body):,} characters, over files.max_file_bytes ({max_file_chars:,})"
    text = file_header(item.fd, "", item.extra) + body
    return _Rendered(item, hunks, (added, removed), text, estimate_tokens(text))


class _Packer:
    def __init__(self, builder: RequestBuilder, target_key: str, context: Context, per_file: bool) -> None:
        self.builder = builder
        self.key = target_key
        self.context = context
        whole = context.text()  # the most any request's context can be: every file listed
        self.budget = builder.max_input_tokens - builder.prefix.tokens - (estimate_tokens(whole) if whole else 0) - 50
        self.per_file = per_file
        self.specs: list[tuple[tuple, RequestSpec]] = []
        self.current: list[_Rendered] = []
        self.used = 0

    def context_for(self, shown: Collection[str]) -> tuple[str, int]:
        text = self.context.text(shown)
        return text, estimate_tokens(text) if text else 0

    def flush(self) -> None:
        if not self.current:
            return
        first = self.current[0].item
        parts = tuple(FilePart(r.item.fd.path, r.item.fd.old_path) for r in self.current)
        context, context_tokens = self.context_for({part.path for part in parts})
        user = context + "".join(r.text for r in self.current)
        tokens = self.builder.prefix.tokens + context_tokens + self.used
        self.specs.append(((sort_key(first.fd.path), 0), self.builder.spec(
            custom_id(self.key, first.index, 0), user, parts, tokens)))
        self.current, self.used = [], 0

    def add(self, r: _Rendered) -> str | None:
        if r.tokens <= self.budget:
            if self.used + r.tokens > self.budget:
                self.flush()
            self.current.append(r)
            self.used += r.tokens
            if self.per_file:
                self.flush()
            return None
        self.flush()
        return self.split(r)

    def split(self, r: _Rendered) -> str | None:
        fd, extra = r.item.fd, r.item.extra
        header_tokens = estimate_tokens(file_header(fd, "", extra)) + 6  # room for "(part n of m)"
        budget = self.budget - header_tokens
        if budget < MIN_DIFF_BUDGET:
            return "max_input_tokens leaves no room for the diff after the instructions"
        chunks = chunk_hunks(r.hunks, budget)
        context = self.context.text((fd.path,))
        for index, lines in enumerate(chunks):
            part = f"part {index + 1} of {len(chunks)}" if len(chunks) > 1 else ""
            user = context + file_header(fd, part, extra) + "\n".join(lines) + "\n"
            tokens = self.builder.prefix.tokens + estimate_tokens(user)
            self.specs.append(((sort_key(fd.path), index), self.builder.spec(
                custom_id(self.key, r.item.index, index), user,
                (FilePart(fd.path, fd.old_path, index, len(chunks)),), tokens)))
        return None


def plan_requests(builder_for: Callable[[str], RequestBuilder], target_key: str, items: Sequence[FileItem],
                  context: str | Context | Callable[[dict[str, tuple[int, int]]], Context], *,
                  per_file: bool = False,
                  max_file_chars: int | None = None) -> tuple[list[RequestSpec], list[tuple[str, str]]]:
    """(requests in file order, [(path, why it is not reviewed)]) for the files of one target. `context`
    is the target's context, or makes it from the +/- counts of the files that will be shown."""
    skipped: list[tuple[str, str]] = []
    ready: list[_Rendered] = []
    for item in sorted(items, key=lambda i: sort_key(i.fd.path)):
        rendered = _render(item, max_file_chars)
        if isinstance(rendered, str):
            skipped.append((item.fd.path, rendered))
        else:
            ready.append(rendered)
    if callable(context):
        context = context({r.item.fd.path: r.counts for r in ready})
    if isinstance(context, str):
        context = Context(context)
    packers: dict[str, _Packer] = {}
    for rendered in ready:
        item = rendered.item
        packer = packers.get(item.model)
        if packer is None:
            builder = builder_for(item.model)
            packer = packers[item.model] = _Packer(builder, target_key, context, per_file)
            if packer.budget - MIN_DIFF_BUDGET < 0:  # the context leaves no room: go without it
                packer = packers[item.model] = _Packer(builder, target_key, Context(""), per_file)
        reason = packer.add(rendered)
        if reason is not None:
            skipped.append((item.fd.path, reason))
    for packer in packers.values():
        packer.flush()
    ordered = sorted((entry for p in packers.values() for entry in p.specs), key=lambda e: e[0])
    return [spec for _, spec in ordered], skipped
