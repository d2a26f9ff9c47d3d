"""The eval's record: its cases, its requests and batches, and (once collected) its results (pure but for
save and load).

One eval lives in its own folder, `<state dir>/eval/<name>/`: `eval.json` (this record), its batch input
files and its report. Nothing there is named like submit's manifests (`manifest.json`), and its batches'
metadata carries no `batch_review` key, so no poll ever reads an eval as a review to post or adopts its
batches (ledger/store.py lists `*/manifest.json`, ledger/adoption.py wants `batch_review`).

The record is checked field by field when read back (`EvalRecord.load`): a damaged or hand-edited file is
one StateError line naming the file and the key, never a traceback or a half-read eval. Its digest
(`digest`) is the sha256 of what was sent (cases, requests, each batch's input digest), and goes into the
batches' metadata as `manifest_digest`: the batch service vouches that a batch id read back from the record
is this eval's batch (OpenAI: the metadata; Anthropic: the custom_ids of the results).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..core.errors import StateError

FILENAME = "eval.json"
KIND = "batch-review eval"
VERSION = 1
MAX_BYTES = 64 * 1024 * 1024
_SHA = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
_BATCH_DIGEST_KEYS = ("index", "input_sha256", "requests", "bytes", "model", "endpoint")


@dataclass
class Case:
    """One introducing change: the commit, its parent, the lines of its own version that later fixes
    changed (`bug_lines`, path -> line numbers) and those fixes (oldest first)."""

    sha: str
    parent: str
    committed: int
    subject: str  # the first line of its message: author text
    bug_lines: dict[str, list[int]]
    fixes: list[str]
    key: str = ""  # the target key of its requests, once planned
    unshown: int = 0  # bug lines in files its requests do not show (excluded, too large): never catchable

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> Case:
        return cls(**data)


@dataclass
class EvalRecord:
    name: str
    repository: str
    created_at: str
    tool: str
    head: str  # the commit whose history was mined
    settings: dict  # what was asked: words, since, limit, near, rev, model
    cases: list[Case] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # mining and planning, one line each
    provider: dict = field(default_factory=dict)
    endpoint: str = ""
    requests: dict[str, dict] = field(default_factory=dict)  # custom_id -> {case, batch, model, files, tokens}
    estimate: dict = field(default_factory=dict)
    batches: list[dict] = field(default_factory=list)
    dry_run: bool = True
    results: dict | None = None  # once collected: {requests: {cid: {...}}, usage: {model: {...}}, notes: [...]}
    version: int = VERSION
    kind: str = KIND

    def to_json(self) -> dict:
        data = asdict(self)
        data["cases"] = [c.to_json() for c in self.cases]
        return data

    def digest(self) -> str:
        """sha256 of what was sent: the cases, the requests and each batch's input (ids left out)."""
        core = {"name": self.name, "repository": self.repository, "head": self.head,
                "cases": [c.to_json() for c in self.cases], "requests": self.requests,
                "batches": [{k: b.get(k) for k in _BATCH_DIGEST_KEYS} for b in self.batches]}
        return hashlib.sha256(json.dumps(core, sort_keys=True, separators=(",", ":")).encode()).hexdigest()

    def case(self, sha: str) -> Case:
        return next(c for c in self.cases if c.sha == sha)

    def save(self, directory: Path) -> Path:
        """Written whole to a temporary file, then renamed: a killed run leaves the old record or the new."""
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / FILENAME
        tmp = directory / f".{FILENAME}.tmp"
        tmp.write_text(json.dumps(self.to_json(), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        os.replace(tmp, path)
        return path

    @classmethod
    def load(cls, path: Path) -> EvalRecord:
        try:
            if path.stat().st_size > MAX_BYTES:
                raise StateError(f"{path}: over {MAX_BYTES:,} bytes; not an eval record batch-review wrote")
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError, RecursionError) as exc:
            raise StateError(f"{path}: not a readable eval record ({type(exc).__name__}); remove its folder to "
                             "start this eval again") from None
        return from_json(data, str(path))


# --- reading it back: every field of its type ----------------------------------------------------------

def _want(ok: bool, source: str, key: str, value: object) -> None:
    if not ok:
        raise StateError(f"{source}: {key}: unexpected value {str(repr(value))[:80]}; remove the eval's folder "
                         "to start it again")


def _ints(values: object) -> bool:
    return isinstance(values, list) and all(isinstance(v, int) and not isinstance(v, bool) and v >= 1
                                            for v in values)


def _check_case(data: object, source: str, at: str) -> Case:
    _want(isinstance(data, dict) and set(data) == set(Case.__dataclass_fields__), source, at, data)
    for key in ("sha", "parent"):
        _want(isinstance(data[key], str) and bool(_SHA.fullmatch(data[key])), source, f"{at}.{key}", data[key])
    _want(isinstance(data["committed"], int) and isinstance(data["unshown"], int), source, at, data["committed"])
    _want(isinstance(data["subject"], str) and isinstance(data["key"], str), source, f"{at}.subject", data["subject"])
    lines = data["bug_lines"]
    _want(isinstance(lines, dict) and all(isinstance(p, str) and _ints(v) for p, v in lines.items()),
          source, f"{at}.bug_lines", lines)
    _want(isinstance(data["fixes"], list) and all(isinstance(f, str) and _SHA.fullmatch(f) for f in data["fixes"]),
          source, f"{at}.fixes", data["fixes"])
    return Case.from_json(data)


def _check_request(cid: object, data: object, source: str, batches: int, cases: set[str]) -> None:
    at = f"requests.{cid}"
    _want(isinstance(cid, str) and isinstance(data, dict), source, at, data)
    _want(data.get("case") in cases, source, f"{at}.case", data.get("case"))
    batch = data.get("batch")
    _want(isinstance(batch, int) and 0 <= batch < max(batches, 1), source, f"{at}.batch", batch)
    _want(isinstance(data.get("files"), list) and all(isinstance(p, str) for p in data["files"]),
          source, f"{at}.files", data.get("files"))
    for key in ("model", "est_input_tokens", "max_output_tokens"):
        _want(key in data, source, f"{at}.{key}", None)


def _tokens(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _check_results(results: object, source: str) -> None:
    """What scoring and the report read of the kept results: the answers' shapes and the usage figures."""
    if results is None:
        return
    _want(isinstance(results, dict) and isinstance(results.get("requests"), dict), source, "results", results)
    for cid, r in results["requests"].items():
        _want(isinstance(r, dict) and isinstance(r.get("status"), str) and isinstance(r.get("findings"), list)
              and all(isinstance(f, dict) for f in r["findings"]), source, f"results.requests.{cid}", r)
    usage = results.get("usage")
    _want(isinstance(usage, dict), source, "results.usage", usage)
    for model, t in usage.items():
        _want(isinstance(t, dict) and all(_tokens(t.get(k)) for k in ("input_tokens", "cached_input_tokens",
                                                                        "output_tokens"))
              and (t.get("batch_usd") is None or isinstance(t["batch_usd"], int | float)
                   and not isinstance(t["batch_usd"], bool)), source, f"results.usage.{model}", t)
    problems = results.get("problems", [])
    _want(isinstance(problems, list) and all(isinstance(x, str) for x in problems), source, "results.problems",
          problems)


def _check_settings(settings: dict, estimate: dict, source: str) -> None:
    words = settings.get("words")
    _want(isinstance(words, list) and all(isinstance(w, str) for w in words), source, "settings.words", words)
    for key in ("rev", "since", "model"):
        _want(isinstance(settings.get(key), str), source, f"settings.{key}", settings.get(key))
    _want(_tokens(settings.get("near")), source, "settings.near", settings.get("near"))
    _want(settings.get("limit") is None or _tokens(settings["limit"]), source, "settings.limit", settings.get("limit"))
    usd = estimate.get("batch_usd")
    _want(usd is None or isinstance(usd, int | float) and not isinstance(usd, bool), source, "estimate.batch_usd", usd)


def from_json(data: object, source: str) -> EvalRecord:
    _want(isinstance(data, dict) and data.get("kind") == KIND, source, "kind", data.get("kind") if isinstance(
        data, dict) else data)
    _want(data.get("version") == VERSION, source, "version", data.get("version"))
    known = set(EvalRecord.__dataclass_fields__)
    _want(set(data) == known, source, "keys", sorted(set(data) ^ known))
    for key in ("name", "repository", "created_at", "tool", "endpoint"):
        _want(isinstance(data[key], str), source, key, data[key])
    _want(isinstance(data["head"], str) and bool(_SHA.fullmatch(data["head"])), source, "head", data["head"])
    for key in ("settings", "provider", "estimate", "requests"):
        _want(isinstance(data[key], dict), source, key, data[key])
    _want(isinstance(data["dry_run"], bool), source, "dry_run", data["dry_run"])
    _want(isinstance(data["notes"], list) and all(isinstance(n, str) for n in data["notes"]), source, "notes",
          data["notes"])
    _want(isinstance(data["cases"], list), source, "cases", data["cases"])
    cases = [_check_case(c, source, f"cases[{i}]") for i, c in enumerate(data["cases"])]
    batches = data["batches"]
    _want(isinstance(batches, list) and all(isinstance(b, dict) and b.get("index") == i for i, b in enumerate(batches)),
          source, "batches", batches)
    for b in batches:
        _want(isinstance(b.get("file"), str) and re.fullmatch(r"input-\d{3,}\.jsonl", b["file"]) is not None,
              source, "batches[].file", b.get("file"))
        _want(b.get("id") is None or isinstance(b.get("id"), str), source, "batches[].id", b.get("id"))
    for cid, request in data["requests"].items():
        _check_request(cid, request, source, len(batches), {c.sha for c in cases})
    _check_results(data["results"], source)
    _check_settings(data["settings"], data["estimate"], source)
    fields = {k: v for k, v in data.items() if k != "cases"}
    return EvalRecord(cases=cases, **fields)
