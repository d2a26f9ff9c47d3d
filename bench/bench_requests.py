"""Benchmark: what the batch requests cost, old design beside new, on real changes no one here wrote.

The changes: the differences between consecutive releases of well-known pure-Python packages, taken
from their source distributions on the package index (`pip download --no-deps --no-binary :all:`),
extracted into a git repository as two commits (branch `base` = the older release, `head` = the newer;
the generated PKG-INFO and *.egg-info are left out) and reviewed as a branch pair (base...head).
Downloads and repositories are cached under bench/out/requests/; a package that cannot be downloaded or
extracted is skipped with a line.

The designs, each run as `python -m batch_review submit --dry-run --base base --head head` on the same
repository with the same configuration (defaults, budget off):
- old: the product as of commit eac1c4f (one request per changed file), materialised with
  `git archive eac1c4f src` into bench/out/requests/old-eac1c4f and run with PYTHONPATH;
- new: the working tree's src/.

From each run's batch input JSONL and manifest:
- requests per target (one target per package);
- input tokens, counted with tiktoken o200k_base over everything the model reads: every message's text,
  the JSON schema of the response format (json.dumps with its default separators, as issue 9 counted
  it), 3 tokens per message and 3 for the reply (OpenAI's chat accounting);
- tokens that are not diff, per reviewed file (goal <= 200): diff tokens are the tokens of the content of
  the diff lines the requests show (each line's text without its marker or line numbers, counted line by
  line); everything else -- instructions, schema, headers, line numbers, markers, context -- is framing;
- cost at batch price with 250 output tokens per request, priced with the product's pricing table for
  the model the requests name;
- estimate error: the run's own input token estimate (manifest, else its printed total) against the
  tiktoken count; the new design is also run with TIKTOKEN_CACHE_DIR pointing at the encoding (as in the
  Docker image), where it counts with tiktoken instead of estimating, and both errors are printed.
The verify round (issue 20) is priced on the same changes with a stated candidate mix: CANDIDATES per
target, on the first added line of the target's files with the most changed lines, each with a typical
finding's words; the request is the product's own (planning/verify.py), its hunk and enclosing code read
from the repository at the head as the poll reads them, counted with o200k_base, OUTPUT_TOKENS output
tokens per request. The whole night (review plus verify, batch price) is set against the reference.
A reference line prices a plain per-file real-time reviewer on the same files at full price: one request
per reviewed file holding a two-sentence instruction and the file's `git diff` as git prints it, 250
output tokens per request.

    pip install -e '.[bench]'
    python bench/bench_requests.py                  # all packages
    python bench/bench_requests.py --only click     # one package

The o200k_base encoding is read offline from ../shared/data/o200k_base.tiktoken (or --encoding FILE).
Writes bench/out/requests.json and prints markdown tables for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = HERE / "out" / "requests"
OLD_COMMIT = "eac1c4f"
TIKTOKEN_CACHE = HERE / "out" / "tiktoken-cache"  # o200k_base under tiktoken's name for it
OUTPUT_TOKENS = 250  # per request, for the cost columns
GOAL_FRAMING = 200
PREFIX = 24  # at most this many characters (line numbers, marker) precede a diff line's content
ENCODING_URL = "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken"
ENCODING_SHA256 = "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d"
# ../shared beside the checkout (CI and the main worktree), or beside a folder of worktrees
DEFAULT_ENCODING = next((d / "shared" / "data" / "o200k_base.tiktoken" for d in ROOT.parents
                         if (d / "shared" / "data" / "o200k_base.tiktoken").is_file()),
                        ROOT.parent / "shared" / "data" / "o200k_base.tiktoken")

# (package, older release, newer release): consecutive releases, each a moderate change
PACKAGES = [
    ("requests", "2.32.3", "2.32.4"),
    ("attrs", "24.2.0", "24.3.0"),
    ("click", "8.1.7", "8.1.8"),
    ("flask", "3.0.3", "3.1.0"),
    ("httpx", "0.27.2", "0.28.0"),
    ("rich", "13.9.3", "13.9.4"),
]

CONFIG = "budget:\n  max_cost_usd: null\n  max_requests: null\n"
REFERENCE_SYSTEM = ("You review code changes. Report bugs, security problems and risky changes in this "
                    "diff as a JSON list of findings with file, line and explanation.")
GIT_ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.invalid",
    "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.invalid",
    "GIT_AUTHOR_DATE": "2026-01-01T00:00:00Z", "GIT_COMMITTER_DATE": "2026-01-01T00:00:00Z",
    "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1",
}


class Skipped(Exception):
    """This package cannot be measured; the message says why."""


# --- tokens --------------------------------------------------------------------------------------------

def load_encoding(path: Path):
    """o200k_base from a local file, through tiktoken's own cache (no network)."""
    if not path.is_file():
        raise SystemExit(f"{path}: o200k_base.tiktoken not found (pass --encoding FILE)")
    data = path.read_bytes()
    if hashlib.sha256(data).hexdigest() != ENCODING_SHA256:
        raise SystemExit(f"{path}: not the o200k_base.tiktoken tiktoken expects (sha256 differs)")
    cache = TIKTOKEN_CACHE
    cache.mkdir(parents=True, exist_ok=True)
    (cache / hashlib.sha1(ENCODING_URL.encode()).hexdigest()).write_bytes(data)
    os.environ["TIKTOKEN_CACHE_DIR"] = str(cache)
    try:
        import tiktoken
    except ImportError:
        raise SystemExit("tiktoken is not installed (pip install -e '.[bench]')") from None
    return tiktoken.get_encoding("o200k_base")


class Counter:
    def __init__(self, enc) -> None:
        self.enc = enc

    def __call__(self, text: str) -> int:
        return len(self.enc.encode(text, disallowed_special=())) if text else 0

    def body(self, body: dict) -> int:
        """The tokens the model reads for one chat-completions or responses request body."""
        texts: list[str] = []
        messages = 0
        if "messages" in body:
            for m in body["messages"]:
                messages += 1
                texts.extend(_texts(m.get("content")))
            schema = (body.get("response_format") or {}).get("json_schema", {}).get("schema")
        else:
            if body.get("instructions"):
                messages += 1
                texts.append(body["instructions"])
            inp = body.get("input")
            if isinstance(inp, str):
                messages += 1
                texts.append(inp)
            else:
                for m in inp or []:
                    messages += 1
                    texts.extend(_texts(m.get("content")))
            schema = ((body.get("text") or {}).get("format") or {}).get("schema")
        total = sum(self(t) for t in texts) + 3 * messages + 3
        if schema is not None:
            total += self(json.dumps(schema, ensure_ascii=False))
        return total


def _texts(content) -> list[str]:
    if isinstance(content, str):
        return [content]
    return [p.get("text", "") for p in content or [] if isinstance(p, dict)]


def user_texts(body: dict) -> list[str]:
    """The texts of a request other than its instructions (where the diff is)."""
    if "messages" in body:
        return [t for m in body["messages"] if m.get("role") != "system" for t in _texts(m.get("content"))]
    inp = body.get("input")
    return [inp] if isinstance(inp, str) else [t for m in inp or [] for t in _texts(m.get("content"))]


# --- the changes ---------------------------------------------------------------------------------------

def git(repo: Path, *args: str) -> str:
    proc = subprocess.run(["git", "-C", str(repo), *args], env=GIT_ENV, capture_output=True)
    if proc.returncode != 0:
        raise Skipped(f"git {args[0]} failed: {proc.stderr.decode(errors='replace').strip()[-300:]}")
    return proc.stdout.decode("utf-8", "replace")


def download(package: str, version: str) -> Path:
    """The sdist of package==version, from the cache or the package index."""
    cache = OUT / "sdists"
    cache.mkdir(parents=True, exist_ok=True)
    for found in cache.iterdir():
        if _sdist_of(found.name, package, version):
            return found
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:",
         f"{package}=={version}", "-d", str(cache)],
        capture_output=True, text=True, timeout=300)
    for found in cache.iterdir():
        if _sdist_of(found.name, package, version):
            return found
    reason = (proc.stderr.strip().splitlines() or ["no sdist"])[-1]
    raise Skipped(f"{package}=={version}: download failed: {reason}")


def _sdist_of(name: str, package: str, version: str) -> bool:
    stem = re.sub(r"\.(tar\.gz|zip|tar\.bz2)$", "", name)
    norm = re.sub(r"[-_.]+", "_", stem.lower())
    return stem != name and norm == re.sub(r"[-_.]+", "_", f"{package}-{version}".lower())


def _members(archive: Path) -> list[tuple[str, bytes]]:
    """(path inside the release, content) of the regular files of an sdist, top folder stripped.
    Links, devices, paths leaving the release and anything under a .git folder are left out."""
    out = []
    if archive.name.endswith(".zip"):
        with zipfile.ZipFile(archive) as z:
            out = [(i.filename, z.read(i)) for i in z.infolist() if not i.is_dir()]
    else:
        with tarfile.open(archive) as t:
            out = [(m.name, t.extractfile(m).read()) for m in t.getmembers() if m.isfile()]
    files = []
    for name, data in out:
        # an archive is someone else's: no way out of the repository, nothing into its .git
        parts = [p for p in name.replace("\\", "/").split("/") if p not in ("", ".")][1:]
        if not parts or ".." in parts or any(p.lower() == ".git" for p in parts):
            continue
        if parts[0] == "PKG-INFO" or any(p.endswith(".egg-info") for p in parts):
            continue  # generated by the build, not source
        files.append(("/".join(parts), data))
    return files


def _fill(repo: Path, files: list[tuple[str, bytes]]) -> None:
    for entry in repo.iterdir():
        if entry.name != ".git":
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
    for name, data in files:
        path = repo / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def make_repo(package: str, old: str, new: str) -> Path:
    """A repository whose branch `base` holds release `old` and branch `head` release `new` (cached)."""
    repo = OUT / "repos" / f"{package}-{old}-{new}"
    if (repo / ".git" / "refs" / "heads" / "head").exists():
        return repo
    a, b = download(package, old), download(package, new)
    try:
        files_a, files_b = _members(a), _members(b)
    except (OSError, tarfile.TarError, zipfile.BadZipFile) as exc:
        raise Skipped(f"{package}: cannot extract: {exc}") from exc
    tmp = Path(tempfile.mkdtemp(prefix=f"{package}-", dir=OUT))
    try:
        git(tmp, "init", "-q", "-b", "base")
        _fill(tmp, files_a)
        git(tmp, "add", "-A")
        git(tmp, "commit", "-q", "--no-verify", "-m", f"{package} {old}")
        git(tmp, "checkout", "-q", "-b", "head")
        _fill(tmp, files_b)
        git(tmp, "add", "-A")
        git(tmp, "commit", "-q", "--no-verify", "-m", f"{package} {new}")
        repo.parent.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(repo, ignore_errors=True)
        tmp.rename(repo)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return repo


def diff_lines(repo: Path, context: int) -> dict[str, list[tuple[str, str]]]:
    """path -> (marker, content) of every diff line (context, added, removed) of base...head."""
    from unidiff import PatchSet

    text = git(repo, "diff", "--no-color", "--no-ext-diff", "--find-renames", f"-U{context}", "base...head")
    out: dict[str, list[str]] = {}
    for pf in PatchSet(io.StringIO(text, newline="\n")):
        path = pf.target_file[2:] if pf.target_file.startswith("b/") else pf.path
        out[path] = [(ln.line_type, ln.value.rstrip("\r\n")) for h in pf for ln in h if ln.line_type in " +-"]
    return out


def file_diffs(repo: Path) -> dict[str, str]:
    """path -> that file's section of `git diff base...head`, as git prints it."""
    text = git(repo, "diff", "--no-color", "--no-ext-diff", "--find-renames", "base...head")
    out: dict[str, str] = {}
    for section in re.split(r"(?m)^(?=diff --git )", text):
        if m := re.match(r"diff --git a/.* b/(.*)\n", section):
            out[m.group(1)] = section
    return out


# --- the designs ---------------------------------------------------------------------------------------

def old_source() -> Path:
    dest = OUT / f"old-{OLD_COMMIT}"
    if (dest / "src" / "batch_review" / "__init__.py").exists():
        return dest / "src"
    tmp = Path(tempfile.mkdtemp(prefix="old-", dir=OUT))
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", OLD_COMMIT, "src"], capture_output=True)
    if archive.returncode != 0:
        raise SystemExit(f"git archive {OLD_COMMIT} failed: {archive.stderr.decode(errors='replace')}")
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as t:
        t.extractall(tmp, filter="data")
    shutil.rmtree(dest, ignore_errors=True)
    tmp.rename(dest)
    return dest / "src"


@dataclass
class Run:
    requests: list[dict]
    manifest: dict
    stdout: str


def run_design(src: Path, repo: Path, work: Path, config: Path, tiktoken_cache: Path | None = None) -> Run:
    """One dry run; with `tiktoken_cache`, TIKTOKEN_CACHE_DIR points at it (as in the Docker image), so a
    design that can count exactly does; without, it estimates."""
    state = work / "state"
    shutil.rmtree(state, ignore_errors=True)
    env = {**GIT_ENV, "PYTHONPATH": str(src)}
    for key in ("GITHUB_ACTIONS", "GITHUB_REPOSITORY", "GITHUB_STEP_SUMMARY", "GITHUB_OUTPUT", "OPENAI_API_KEY",
                "TIKTOKEN_CACHE_DIR"):
        env.pop(key, None)
    if tiktoken_cache is not None:
        env["TIKTOKEN_CACHE_DIR"] = str(tiktoken_cache)
    proc = subprocess.run(
        [sys.executable, "-m", "batch_review", "submit", "--dry-run", "--base", "base", "--head", "head",
         "--repo", str(repo), "--config", str(config), "--state-dir", str(state)],
        cwd=work, env=env, capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        raise Skipped(f"submit --dry-run exited {proc.returncode}: {proc.stderr.strip()[-500:]}")
    manifests = sorted(state.rglob("manifest.json"))
    if len(manifests) != 1:
        raise Skipped(f"expected one manifest, found {len(manifests)}: {proc.stdout.strip()[-300:]}")
    requests = [json.loads(line) for p in sorted(manifests[0].parent.glob("*.jsonl"))
                for line in p.read_text(encoding="utf-8").splitlines() if line.strip()]
    return Run(requests, json.loads(manifests[0].read_text(encoding="utf-8")), proc.stdout)


def reviewed_paths(manifest: dict) -> set[str]:
    """The files the run reviewed: manifest v1 `files` {target: {path: lines}}, or v2 records."""
    files = manifest.get("files")
    if isinstance(files, dict) and all(isinstance(v, dict) for v in files.values()):
        return {p for per_target in files.values() for p in per_target}
    paths: set[str] = set()
    for rec in _records(manifest):
        for f in rec.get("files") or []:
            if isinstance(f, dict) and isinstance(f.get("path"), str):
                paths.add(f["path"])
            elif isinstance(f, str):
                paths.add(f)
        if isinstance(rec.get("path"), str):
            paths.add(rec["path"])
    return paths


def _records(manifest: dict) -> list[dict]:
    recs = manifest.get("requests")
    if isinstance(recs, dict):
        return [r for r in recs.values() if isinstance(r, dict)]
    return [r for r in recs or [] if isinstance(r, dict)]


def estimated_input(run: Run) -> int | None:
    est = run.manifest.get("estimate") or {}
    if isinstance(est.get("input_tokens"), int):
        return est["input_tokens"]
    for line in run.stdout.splitlines():  # the printed table's total row
        cells = line.split()
        if cells[:1] == ["total"]:
            numbers = [c for c in cells if re.fullmatch(r"[\d,]+", c)]
            if len(numbers) >= 4:
                return int(numbers[3].replace(",", ""))
    return None


# --- measuring -----------------------------------------------------------------------------------------

@dataclass
class Measure:
    requests: int = 0
    reviewed_files: int = 0
    input_tokens: int = 0
    diff_tokens: int = 0
    diff_tokens_git: int = 0  # each diff line counted as git prints it: marker, content, newline
    estimate: int | None = None
    batch_usd: float = 0.0
    standard_usd: float = 0.0
    model: str = ""
    lines_found: float = 1.0  # share of the diff's lines found in the requests (sanity check)

    @property
    def framing_per_file(self) -> float:
        return (self.input_tokens - self.diff_tokens) / max(1, self.reviewed_files)

    @property
    def framing_per_file_git(self) -> float:
        return (self.input_tokens - self.diff_tokens_git) / max(1, self.reviewed_files)


NEW_DIFF_LINE = re.compile(r"(\d+)([-+ ])(.*)")  # the new design's '<number><marker><code>'
FILE_LINE = ("=== ", "note: ", "instructions for this file: ")


def breakdown(run: Run, count: Counter) -> dict[str, int]:
    """Where the new design's tokens that are not diff go: each request's parts counted on their own
    (a diff line's framing is the line with its newline less its content)."""
    out = dict.fromkeys(("diff line numbers, markers, newlines", "list of the other files", "instructions",
                         "schema", "hunk sections", "file headers", "title, branches, description",
                         "message framing"), 0)
    for req in run.requests:
        body = req["body"]
        out["instructions"] += sum(count(m["content"]) for m in body["messages"] if m["role"] == "system")
        out["schema"] += count(json.dumps(body["response_format"]["json_schema"]["schema"], ensure_ascii=False))
        out["message framing"] += 3 * len(body["messages"]) + 3
        listing = False
        for line in user_texts(body)[0].splitlines():
            if line.startswith(FILE_LINE):
                kind = "file headers"
            elif line.startswith("@@"):
                kind = "hunk sections"
            elif m := NEW_DIFF_LINE.fullmatch(line):
                out["diff line numbers, markers, newlines"] += count(line + "\n") - count(m.group(3))
                continue
            else:
                listing = listing or line in ("Other files of this change:", "Not reviewed:")
                kind = "list of the other files" if listing else "title, branches, description"
            out[kind] += count(line + "\n")
    return out


def price(model: str, input_tokens: int, requests: int) -> tuple[float, float]:
    """(batch, standard) USD of these input tokens plus OUTPUT_TOKENS per request."""
    from batch_review.planning.pricing import estimate_cost

    cost = estimate_cost(model, input_tokens, OUTPUT_TOKENS * requests)
    if cost is None:
        raise Skipped(f"model {model!r} has no price in the product's pricing table")
    return cost.batch_usd, cost.standard_usd


def measure(run: Run, count: Counter, lines: dict[str, list[str]]) -> tuple[Measure, set[str]]:
    """The figures of one run, and the files it reviewed."""
    m = Measure(requests=len(run.requests))
    paths = reviewed_paths(run.manifest)
    m.reviewed_files = len(paths)
    m.model = run.requests[0]["body"]["model"] if run.requests else ""
    suffixes: set[str] = set()  # every shown line with up to PREFIX leading characters cut off
    for req in run.requests:
        m.input_tokens += count.body(req["body"])
        for text in user_texts(req["body"]):
            for line in text.splitlines():
                suffixes.update(line[cut:] for cut in range(min(len(line), PREFIX) + 1))
    found = total = 0
    for path in paths:
        for marker, content in lines.get(path, []):
            m.diff_tokens += count(content)
            m.diff_tokens_git += count(marker + content + "\n")
            total += 1
            found += content in suffixes
    m.lines_found = found / total if total else 1.0
    m.estimate = estimated_input(run)
    if m.requests:
        m.batch_usd, m.standard_usd = price(m.model, m.input_tokens, m.requests)
    return m, paths


def reference(count: Counter, sections: dict[str, str], lines: dict[str, list[str]], paths: set[str],
              model: str) -> Measure:
    """A plain per-file real-time reviewer: one request per reviewed file, the file's git diff."""
    m = Measure(reviewed_files=len(paths), model=model)
    for path in sorted(paths):
        if path in sections:
            m.requests += 1
            m.input_tokens += count(REFERENCE_SYSTEM) + count(sections[path]) + 3 * 2 + 3
            m.diff_tokens += sum(count(content) for _, content in lines.get(path, []))
            m.diff_tokens_git += sum(count(marker + content + "\n") for marker, content in lines.get(path, []))
    m.batch_usd, m.standard_usd = price(model, m.input_tokens, m.requests)
    return m


# --- report --------------------------------------------------------------------------------------------

@dataclass
class Result:
    package: str
    change: str
    changed_files: int
    old: Measure
    new: Measure
    ref: Measure
    summary_tokens: int | None = None  # input tokens the new design spends on asking for a summary
    exact_estimate: int | None = None  # the new design's input tokens when it counts with tiktoken
    breakdown: dict[str, int] = field(default_factory=dict)  # the new design's not-diff tokens by kind
    verify: Measure | None = None  # the verify round with CANDIDATES candidates per target
    notes: list[str] = field(default_factory=list)


CANDIDATES = 2  # the stated candidate mix: candidate findings per target in the verify round
TYPICAL_FINDING = ("A value that can be None reaches a call that needs a string",
                   "When the option is not set, this path passes None on, and the call below raises TypeError "
                   "for every caller that relies on the default. Check for None first, or keep the old default.")


def _first_added_line(diff: str) -> int | None:
    new = None
    for line in diff.splitlines():
        if m := re.match(r"@@ -\d+(?:,\d+)? \+(\d+)", line):
            new = int(m.group(1))
        elif new is not None and line.startswith("+") and not line.startswith("+++"):
            return new
        elif new is not None and not line.startswith("-"):
            new += 1
    return None


def verify_measure(repo: Path, lines: dict[str, list[tuple[str, str]]], paths: set[str], model: str,
                   count: Counter) -> Measure:
    """The verify request of one target with CANDIDATES candidates, built by the product's own code."""
    from batch_review.core.vocabulary import Finding
    from batch_review.git.repo import GitRepo
    from batch_review.planning.verify import Candidate, enclosing, hunk_around, request_body, request_text

    git_repo, base = GitRepo(repo), git(repo, "merge-base", "base", "head").strip()
    candidates = []
    for path in sorted(paths, key=lambda p: -len(lines.get(p, []))):
        diff = git_repo.file_diff(base, "head", path)
        line = _first_added_line(diff)
        if line is None:
            continue
        f = Finding("", path, line, None, "RIGHT", "high", "bug", *TYPICAL_FINDING, None)
        candidates.append(Candidate(f"c{len(candidates) + 1}", f, hunk_around(diff, line, "RIGHT"),
                                    enclosing(git_repo.file_at("head", path) or "", line)))
        if len(candidates) == CANDIDATES:
            break
    m = Measure(model=model)
    if candidates:
        req = request_text(repo.name, candidates, 60_000)
        body = request_body("/v1/chat/completions", model, req, reasoning_effort="low")
        m.requests, m.input_tokens = 1, count.body(body)
        m.batch_usd, m.standard_usd = price(model, m.input_tokens, m.requests)
    return m


def error(m: Measure) -> float | None:
    return None if m.estimate is None or not m.input_tokens else m.estimate / m.input_tokens - 1


def pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x * 100:+.0f}%"


def usd(x: float) -> str:
    return f"${x:.4f}"


def print_tables(results: list[Result], new_label: str) -> None:
    print("| change | files reviewed old/new | requests old/new | input tokens old/new "
          f"| not diff per file old/new (goal <= {GOAL_FRAMING}) | batch cost old/new | estimate error old/new |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in results:
        o, n = r.old, r.new
        print(f"| {r.change} | {o.reviewed_files} / {n.reviewed_files} | {o.requests} / {n.requests} "
              f"| {o.input_tokens:,} / {n.input_tokens:,} | {o.framing_per_file:,.0f} / {n.framing_per_file:,.0f} "
              f"| {usd(o.batch_usd)} / {usd(n.batch_usd)} | {pct(error(o))} / {pct(error(n))} |")
    print()
    targets = len(results)

    def total(kind: str) -> Measure:
        ms = [getattr(r, kind) for r in results]
        t = Measure(model=ms[0].model)
        for m in ms:
            t.requests += m.requests
            t.reviewed_files += m.reviewed_files
            t.input_tokens += m.input_tokens
            t.diff_tokens += m.diff_tokens
            t.diff_tokens_git += m.diff_tokens_git
            t.batch_usd += m.batch_usd
            t.standard_usd += m.standard_usd
        estimates = [m.estimate for m in ms]
        t.estimate = None if None in estimates else sum(estimates)
        return t

    def worst(kind: str) -> str:
        errors = [e for r in results if (e := error(getattr(r, kind))) is not None]
        return pct(max(errors, key=abs)) if errors else "n/a"

    old, new, ref = total("old"), total("new"), total("ref")
    print(f"{targets} changes, {old.reviewed_files} reviewed files (old) / {new.reviewed_files} (new); "
          f"model {old.model}; output priced at {OUTPUT_TOKENS} tokens per request")
    print()
    print("| design | requests per target | input tokens | not diff per reviewed file (goal <= 200) "
          "| cost, output 250/request | estimate error (worst change) |")
    print("|---|---:|---:|---:|---:|---:|")
    for label, t, kind in ((f"old ({OLD_COMMIT}), batch price", old, "old"),
                           (f"new ({new_label}), batch price", new, "new")):
        print(f"| {label} | {t.requests / targets:.1f} | {t.input_tokens:,} | {t.framing_per_file:,.0f} "
              f"| {usd(t.batch_usd)} | {pct(error(t))} ({worst(kind)}) |")
    print(f"| plain per-file real-time reviewer, full price | {ref.requests / targets:.1f} | {ref.input_tokens:,} "
          f"| {ref.framing_per_file:,.0f} | {usd(ref.standard_usd)} | - |")
    print()
    print(f"Counting each diff line as git prints it (marker, content, newline) as diff, not diff per reviewed "
          f"file: old {old.framing_per_file_git:,.0f}, new {new.framing_per_file_git:,.0f}, "
          f"reference {ref.framing_per_file_git:,.0f}.")
    per_file = [price(t.model, t.input_tokens, t.reviewed_files) for t in (old, new, ref)]
    print(f"With {OUTPUT_TOKENS} output tokens per reviewed file instead of per request (a packed request answers "
          f"for several files): old {usd(per_file[0][0])}, new {usd(per_file[1][0])} at batch price, "
          f"reference {usd(per_file[2][1])} at full price.")
    exact = [(r.exact_estimate, r.new.input_tokens) for r in results]
    if all(e is not None for e, _ in exact):
        errors = [e / n - 1 for e, n in exact]
        total_error = sum(e for e, _ in exact) / sum(n for _, n in exact) - 1
        print(f"Estimate error of the new design: calibrated estimate {pct(error(new))} (worst change "
              f"{worst('new')}); counted with tiktoken o200k_base (TIKTOKEN_CACHE_DIR set, as in the Docker image) "
              f"{pct(total_error)} (worst change {pct(max(errors, key=abs))}).")
    if all(r.breakdown for r in results):
        kinds = {k: sum(r.breakdown[k] for r in results) / max(1, new.reviewed_files) for k in results[0].breakdown}
        print("Where the new design's not-diff tokens go, per reviewed file: "
              + ", ".join(f"{k} {v:,.1f}" for k, v in kinds.items()) + f" (sum {sum(kinds.values()):,.1f}).")
    summaries = [r.summary_tokens for r in results]
    if None not in summaries:
        print(f"The summary (output.summary) adds {sum(summaries) / max(1, new.requests):,.0f} input tokens per "
              f"request (new design, all changes).")
    if new.batch_usd:
        print(f"real-time reference / new: {ref.standard_usd / new.batch_usd:.2f}x; "
              f"old / new: {old.batch_usd / new.batch_usd:.2f}x")
    verify = [r.verify for r in results if r.verify is not None]
    if verify and ref.standard_usd:
        v_in, v_usd = sum(v.input_tokens for v in verify), sum(v.batch_usd for v in verify)
        night = new.batch_usd + v_usd
        print(f"With the verify round ({CANDIDATES} candidates per target, {sum(v.requests for v in verify)} "
              f"requests, {v_in:,} input tokens, {OUTPUT_TOKENS} output tokens each): verify {usd(v_usd)}, review "
              f"plus verify {usd(night)} at batch price = {night / ref.standard_usd:.2f}x the real-time reference's "
              f"single pass ({usd(ref.standard_usd)}); on input alone "
              f"{price(new.model, new.input_tokens + v_in, 0)[0] / price(ref.model, ref.input_tokens, 0)[1]:.2f}x.")


def new_label() -> str:
    """The last commit that changed src/ (the product measured), '+changes' when src/ has edits."""
    head = subprocess.run(["git", "-C", str(ROOT), "log", "-1", "--format=%h", "--", "src"],
                          capture_output=True, text=True)
    dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "src"], capture_output=True, text=True)
    return (head.stdout.strip() or "working tree") + ("+changes" if dirty.stdout.strip() else "")


def bench_package(package: str, old: str, new: str, count: Counter, sources: dict[str, Path],
                  config: Path, context: int) -> Result:
    repo = make_repo(package, old, new)
    lines = diff_lines(repo, context)
    runs: dict[str, tuple[Measure, set[str]]] = {}
    parts: dict[str, int] = {}
    with tempfile.TemporaryDirectory(prefix="bench-requests-") as tmp:
        for name, src in sources.items():
            work = Path(tmp) / name
            work.mkdir()
            run = run_design(src, repo, work, config)
            runs[name] = measure(run, count, lines)
            if name == "new" and run.requests and "messages" in run.requests[0]["body"]:
                parts = breakdown(run, count)
    (old_m, old_paths), (new_m, _) = runs["old"], runs["new"]
    model = new_m.model or old_m.model or "gpt-5-mini"
    # the reference reviews the files the old design reviewed, as in issue 9's comparison
    result = Result(package, f"{package} {old} -> {new}", len(lines), old_m, new_m,
                    reference(count, file_diffs(repo), lines, old_paths, model))
    result.summary_tokens = summary_cost(sources["new"], repo, config, count, lines, new_m)
    result.breakdown = parts
    result.verify = verify_measure(repo, lines, runs["new"][1], model, count)
    with tempfile.TemporaryDirectory(prefix="bench-requests-") as tmp:
        exact = run_design(sources["new"], repo, Path(tmp), config, tiktoken_cache=TIKTOKEN_CACHE)
    if len(exact.requests) == new_m.requests:  # the same requests, counted instead of estimated
        result.exact_estimate = estimated_input(exact)
    for name, (m, _) in runs.items():
        if m.lines_found < 0.98:
            result.notes.append(f"{name}: only {m.lines_found:.0%} of the diff's lines were found in its requests")
    return result


def summary_cost(src: Path, repo: Path, config: Path, count: Counter, lines, with_summary: Measure) -> int | None:
    """Input tokens the summary request adds: the run with `output.summary: false` subtracted; None when
    the design has no such setting (it refuses the key) or the two runs differ in their requests."""
    off = config.with_name("config-no-summary.yml")
    off.write_text(config.read_text() + "output:\n  summary: false\n")
    with tempfile.TemporaryDirectory(prefix="bench-requests-") as tmp:
        try:
            without, _ = measure(run_design(src, repo, Path(tmp), off), count, lines)
        except Skipped:
            return None
    if without.requests != with_summary.requests or without.input_tokens == with_summary.input_tokens:
        return None
    return with_summary.input_tokens - without.input_tokens


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", action="append", default=[], metavar="PACKAGE", help="only this package")
    ap.add_argument("--encoding", type=Path, default=DEFAULT_ENCODING, help="o200k_base.tiktoken file")
    ap.add_argument("--context", type=int, default=3, help="context lines the designs show (default 3)")
    ap.add_argument("--out", type=Path, default=HERE / "out" / "requests.json")
    args = ap.parse_args()
    count = Counter(load_encoding(args.encoding))
    OUT.mkdir(parents=True, exist_ok=True)
    config = OUT / "config.yml"
    config.write_text(CONFIG)
    sources = {"old": old_source(), "new": ROOT / "src"}
    results: list[Result] = []
    for package, old, new in PACKAGES:
        if args.only and package not in args.only:
            continue
        try:
            result = bench_package(package, old, new, count, sources, config, args.context)
        except (Skipped, subprocess.TimeoutExpired) as exc:
            print(f"skipped {package} {old} -> {new}: {exc}", flush=True)
            continue
        print(f"measured {result.change}: {result.changed_files} changed files", flush=True)
        for note in result.notes:
            print(f"  note: {note}")
        results.append(result)
    if not results:
        raise SystemExit("no package could be measured")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps([asdict(r) for r in results], indent=1) + "\n")
    print()
    print_tables(results, new_label())


if __name__ == "__main__":
    main()
