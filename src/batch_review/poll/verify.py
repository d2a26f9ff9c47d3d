"""The verify round, started: a finished first-round manifest's candidate findings go out again as a
second batch, one request per target, before anything of those targets is posted.

`start_round` derives the verify manifest from the first-round manifest and its results (verify_round.py
says what it keeps), checks it against the budget guard and sends it through the one send routine
(ledger/send.py: upload, the manifest's copy, the batches with its signed metadata, each step saved), as
resubmit.py does. The derivation is deterministic (the same first round, results and commits give the
same digest; `started_at` is left out of it), so a poll killed after creating the verify batch derives it
again and finds that batch by its digest instead of sending it twice; a verify manifest already in the
store is not sent again. Store before retire: the first-round manifest is retired only when the verify
manifest survives the run (its copy on the batch service, or stored), which `Started.kept` says.

A target without candidates sends nothing and is posted from the first-round manifest as before. The
code a request shows is read from the checkout's git objects at the target's head (fetched when the
checkout lacks it), never from pull request text; where it cannot be read the request says so.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ..core.errors import BatchReviewError
from ..core.vocabulary import FilePart, Target, counted, severity_rank
from ..findings.results import RequestResult
from ..ledger.batchfile import BatchFileWriter, encode_line
from ..ledger.manifest import BatchRecord, Manifest, RequestRecord, provider_record
from ..ledger.send import found_by_digest, send_batches
from ..ledger.store import Pending
from ..ledger.verify_round import CandidateRef, HeldResult, VerifyRound
from ..planning.budget import estimate_of, over_budget
from ..planning.verify import Candidate, candidates_of, enclosing, hunk_around, request_body, request_text

VERIFY_SUFFIX = ":verify"
_BRANCH = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._/-]{0,199}")  # a branch name a refspec cannot misread


@dataclass
class Started:
    """What `start_round` did: the targets the verify manifest will post, and whether it survives."""

    keys: set[str] = field(default_factory=set)
    kept: bool = True
    manifest: Manifest | None = None
    notes: list[str] = field(default_factory=list)


def floor_of(cfg) -> str:
    """The lowest severity the round checks: verify.min_severity, never below output.min_severity."""
    wanted = cfg.verify.min_severity or cfg.output.min_severity
    return max(wanted, cfg.output.min_severity, key=severity_rank)


class CodeReader:
    """Each candidate's hunk and enclosing code from the checkout, the files read once per target."""

    def __init__(self, git, token: str | None = None) -> None:
        self.git, self.token, self.fetched = git, token, set()

    def _have(self, t: Target) -> bool:
        if self.git is None:
            return False
        if self.git.has_commit(t.head_sha):
            return True
        if t.kind == "pull" and t.number not in self.fetched:
            self.fetched.add(t.number)
            specs = [f"+refs/pull/{t.number}/head:refs/remotes/batch-review/pull/{t.number}"]
            if t.base_sha and _BRANCH.fullmatch(t.base_ref) and ".." not in t.base_ref \
                    and not self.git.has_commit(t.base_sha):  # the merge base, for the hunks (a plain name only)
                specs.append(f"+refs/heads/{t.base_ref}:refs/remotes/batch-review/base/{t.base_ref}")
            try:
                self.git.fetch(specs, token=self.token)
            except BatchReviewError:
                return False
        return self.git.has_commit(t.head_sha)

    def candidates(self, t: Target, found: list[tuple[str, int, object]]) -> list[Candidate]:
        """(request, index, finding) -> candidates c1, c2, ... with their context where it can be read."""
        have = self._have(t)
        sources: dict[str, str | None] = {}
        diffs: dict[str, str] = {}
        out = []
        for n, (_, _, f) in enumerate(found, start=1):
            hunk = code = ""
            if have and f.path:
                if f.path not in sources:
                    sources[f.path] = self.git.file_at(t.head_sha, f.path)
                    diffs[f.path] = self.git.file_diff(t.base_sha, t.head_sha, f.path) if t.base_sha else ""
                hunk = hunk_around(diffs[f.path], f.line, f.side)
                code = enclosing(sources[f.path] or "", f.line) if f.side == "RIGHT" else ""
            out.append(Candidate(f"c{n}", f, hunk, code))
        return out


def _found(m: Manifest, key: str, results: Mapping[str, RequestResult], resubmitted: set[str],
           floor: str) -> list[tuple[str, int, object]]:
    """(request, index, finding) of the target's candidates, most severe first, at most MAX_CANDIDATES."""
    found = [(cid, i, f) for cid in m.requests_for(key) if cid not in resubmitted and cid in results
             for i, f in enumerate(results[cid].findings)]
    where = {id(f): (cid, i) for cid, i, f in found}
    return [(*where[id(f)], f) for f in candidates_of([f for _, _, f in found], floor)]


def derive(cfg, old: Manifest, results: Mapping[str, RequestResult], resubmitted: set[str], reader: CodeReader,
           run_dir: Path, started_at: str) -> tuple[Manifest, list] | None:
    """The verify manifest of `old` and its written input parts; None when no target has a candidate."""
    model = cfg.verify.model or old.model
    new = Manifest(repository=old.repository, endpoint=old.endpoint, model=model,
                   provider=provider_record(old.provider), created_at=old.created_at, tool=old.tool,
                   attempt=old.attempt, version=old.version)
    new.verify = VerifyRound(of=old.digest(), deadline_hours=float(cfg.verify.deadline_hours), started_at=started_at)
    writer = BatchFileWriter(run_dir)
    floor = floor_of(cfg)
    for key in old.targets:
        found = _found(old, key, results, resubmitted, floor)
        if not found:
            continue
        t = old.target(key)
        candidates = reader.candidates(t, found)
        req = request_text(t.label, candidates, cfg.verify.max_request_chars)
        body = request_body(cfg.endpoint, model, req, reasoning_effort=cfg.reasoning_effort)
        vid = key + VERIFY_SUFFIX
        part = writer.add(vid, model, new.endpoint, encode_line(vid, old.endpoint, body))
        shown = tuple(dict.fromkeys(p for cid, _, _ in found for p in old.requests[cid].files))
        new.requests[vid] = RequestRecord(vid, key, shown or (FilePart(""),), part, model, req.est_input_tokens,
                                          req.max_output_tokens)
        new.targets[key], new.files[key] = t, old.files.get(key, {})
        if key in old.skipped:
            new.skipped[key] = old.skipped[key]
        for cid in old.requests_for(key):
            new.verify.first[cid] = old.requests[cid]
            if cid in results and cid not in resubmitted:
                new.verify.results[cid] = HeldResult.of(results[cid])
        new.verify.candidates[vid] = tuple(CandidateRef(c.id, cid, i)
                                           for c, (cid, i, _) in zip(candidates, found, strict=True))
    if not new.requests:
        writer.discard()
        return None
    parts = writer.close()
    new.batches = [BatchRecord.of(p) for p in parts]
    new.estimate = estimate_of(cfg, list(new.requests.values()))
    return new, parts


def start_round(ctx, pending: Pending, results: Mapping[str, RequestResult], resubmitted: set[str],
                seen, *, log: Callable[[str], None] = print) -> Started:
    """Derive and send the verify round of a finished first-round manifest (see the module's words)."""
    started = Started()
    run_dir = ctx.state_root / f"{pending.name}-verify"
    reader = CodeReader(getattr(ctx, "git", None), getattr(ctx, "fetch_token", None))
    at = ctx.now().isoformat().replace("+00:00", "Z")
    derived = derive(ctx.cfg, pending.manifest, results, resubmitted, reader, run_dir, at)
    if derived is None:
        return started
    new, parts = derived
    why = over_budget(ctx.cfg, list(new.requests.values()))
    if why is not None:  # the budget guard, before the batch is made: posted now, marked unverified
        for p in parts:
            p.path.unlink(missing_ok=True)
        started.notes.append(f"{pending.name}: verify round not sent: {why}; its findings are posted without a second look")
        return started
    started.keys, started.manifest = set(new.targets), new
    if seen is not None and new.digest() in seen.digests:  # stored by an earlier run: sent already
        return started
    new.save(run_dir)
    n = len(new.requests)
    sent = send_batches(ctx.client, new, {p.index: p.path for p in parts}, found=found_by_digest(ctx.client, new),
                        log=log, save=lambda: new.save(run_dir),
                        said=lambda b, state: f"verify round of {pending.name}: {counted(n, 'request')} as batch {state.id}")
    started.kept = sent.copy is not None
    return started
