"""Benchmark: `batch-review submit --dry-run` against the floor of reading the same change.

The floor, measured in the same run on the same repository: `git diff` of the same range plus parsing
that diff with unidiff (what any tool that reviews this change must at least do). Both run as fresh
processes, interleaved (floor, submit, floor, submit, ...) so that drift in the machine's load hits both
alike; each is run --repeat times and the median wall time, the median CPU time (user + system, the
process and the git it runs: on a shared machine it moves far less than wall time) and the peak RSS are
reported.

Two shapes of change, each over --files files with --lines modified lines per file (2 x files x lines
changed lines: 10,000 x 50 x 2 = about a million by default):
- hunk: one large hunk per file (files of 2 x lines lines, every other line modified);
- scattered: many small hunks per file (files of 10 x lines lines, a modified line every ten lines, so
  each change is a hunk of its own with three lines of context on either side).

    python bench/bench_submit.py                               # both shapes, 10,000 files, ~1M lines
    python bench/bench_submit.py --shape scattered             # one shape
    python bench/bench_submit.py --files 500 --lines 20        # a quick look
    python bench/bench_submit.py --tiktoken bench/out/tiktoken-cache   # as in the Docker image

Without --tiktoken the product runs without TIKTOKEN_CACHE_DIR (its calibrated estimate); with it, the
folder holding o200k_base (bench/bench_requests.py leaves one in bench/out/tiktoken-cache), so submit
counts its first million characters of requests with tiktoken, as the Docker image does.

Writes bench/out/submit.json and prints a markdown table for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
GIT_ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.invalid",
    "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.invalid",
    "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1",
}

FLOOR = """
import subprocess, sys, io
from unidiff import PatchSet
out = subprocess.run(["git", "-C", sys.argv[1], "diff", "--find-renames", "-U3", "main...feature"],
                     capture_output=True, check=True).stdout
patch = PatchSet(io.StringIO(out.decode("utf-8", "replace"), newline="\\n"))
print(len(patch), sum(f.added + f.removed for f in patch))
"""


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], env=GIT_ENV, check=True, capture_output=True)


SHAPES = {"hunk": 2, "scattered": 10}  # shape -> lines per modified line (one modified line every N)


def base_line(i: int, j: int, every: int) -> str:
    if j % every == 0:
        return f"    value_{j} = compute(x, {j})\n"
    return f"def f{j}(x):  # {i}-{j}\n" if j % every == 1 else f"    other_{j} = keep(x, {j}, {i})\n"


def make_repo(root: Path, files: int, lines: int, shape: str) -> Path:
    """`files` files of `every * lines` lines on main; the feature branch modifies every `every`-th line."""
    every = SHAPES[shape]
    repo = root / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    for i in range(files):
        d = repo / "src" / f"pkg{i // 100:03d}"
        d.mkdir(parents=True, exist_ok=True)
        (d / f"mod{i:05d}.py").write_text("".join(base_line(i, j, every) for j in range(every * lines)))
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "base")
    git(repo, "checkout", "-q", "-b", "feature")
    for i in range(files):
        path = repo / "src" / f"pkg{i // 100:03d}" / f"mod{i:05d}.py"
        text = path.read_text().splitlines(keepends=True)
        for j in range(0, len(text), every):
            text[j] = text[j].replace("compute", "compute_checked")
        path.write_text("".join(text))
    git(repo, "commit", "-q", "-am", "feature")
    (repo / ".github").mkdir()
    (repo / ".github" / "batch-review.yml").write_text(
        "budget:\n  max_cost_usd: null\n  max_requests: null\nfiles:\n  max_file_bytes: 100000000\n"
    )
    return repo


def measure(cmd: list[str], cwd: Path, env: dict) -> tuple[float, float, str]:
    """(wall seconds, CPU seconds, stdout) of one fresh process. CPU time is user + system time of the
    process and the children it waited for (git): on a loaded machine it moves far less than wall time."""
    start = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=err, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if proc.returncode != 0:
            raise SystemExit(f"{cmd[:3]} failed ({proc.returncode}): {err.read().decode(errors='replace')[-2000:]}")
        return wall, usage.ru_utime + usage.ru_stime, out.read().decode()


def peak_rss_mib(cmd: list[str], cwd: Path, env: dict) -> int:
    """Peak RSS of one process (wait4's rusage of that child alone)."""
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    if status != 0:
        raise SystemExit(f"{cmd[:3]} failed with status {status}")
    return usage.ru_maxrss // 1024


def bench_shape(shape: str, args) -> dict:
    root = Path(tempfile.mkdtemp(prefix="batch-review-bench-"))
    try:
        t0 = time.perf_counter()
        repo = make_repo(root, args.files, args.lines, shape)
        setup = time.perf_counter() - t0
        floor_cmd = [sys.executable, "-c", FLOOR, str(repo)]
        tool_cmd = [sys.executable, "-m", "batch_review.cli.commands", "submit", "--dry-run", "--base", "main",
                    "--head", "feature", "--state-dir", str(root / "state")]
        tool_env = {k: v for k, v in GIT_ENV.items() if k != "TIKTOKEN_CACHE_DIR"}
        if args.tiktoken:
            tool_env["TIKTOKEN_CACHE_DIR"] = str(args.tiktoken.resolve())
        floor_times, tool_times, floor_cpu, tool_cpu = [], [], [], []
        changed = ""
        for _ in range(args.repeat):  # interleaved, so drift in machine load hits both alike
            wall, cpu, out = measure(floor_cmd, repo, GIT_ENV)
            floor_times.append(wall)
            floor_cpu.append(cpu)
            changed = out.split()
            shutil.rmtree(root / "state", ignore_errors=True)
            wall, cpu, _ = measure(tool_cmd, repo, tool_env)
            tool_times.append(wall)
            tool_cpu.append(cpu)
        floor_rss = peak_rss_mib(floor_cmd, repo, GIT_ENV)
        shutil.rmtree(root / "state", ignore_errors=True)
        tool_rss = peak_rss_mib(tool_cmd, repo, tool_env)
        jsonl = sum(p.stat().st_size for p in (root / "state").rglob("input-*.jsonl"))
        requests = sum(1 for p in (root / "state").rglob("input-*.jsonl") for _ in p.open("rb"))
        return {
            "shape": shape, "files": int(changed[0]), "changed_lines": int(changed[1]), "repeat": args.repeat,
            "setup_seconds": round(setup, 1),
            "floor_seconds": round(statistics.median(floor_times), 2),
            "tool_seconds": round(statistics.median(tool_times), 2),
            "ratio": round(statistics.median(tool_times) / statistics.median(floor_times), 2),
            "floor_cpu_seconds": round(statistics.median(floor_cpu), 2),
            "tool_cpu_seconds": round(statistics.median(tool_cpu), 2),
            "cpu_ratio": round(statistics.median(tool_cpu) / statistics.median(floor_cpu), 2),
            "floor_peak_rss_mib": floor_rss, "tool_peak_rss_mib": tool_rss,
            "rss_ratio": round(tool_rss / floor_rss, 2),
            "batch_input_mib": round(jsonl / 2**20, 1), "requests": requests, "cpu_count": os.cpu_count(),
            "tiktoken": bool(args.tiktoken), "floor_runs": floor_times, "tool_runs": tool_times,
            "floor_cpu_runs": floor_cpu, "tool_cpu_runs": tool_cpu, "load_average": os.getloadavg()[0],
        }
    finally:
        shutil.rmtree(root, ignore_errors=True)


LABELS = {"hunk": "one large hunk per file", "scattered": "a changed line every ten lines"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=10_000)
    ap.add_argument("--lines", type=int, default=50, help="modified lines per file (x2 changed lines)")
    ap.add_argument("--shape", choices=[*SHAPES, "both"], default="both")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--tiktoken", type=Path, metavar="DIR",
                    help="TIKTOKEN_CACHE_DIR for submit (a folder holding o200k_base): count as the image does")
    ap.add_argument("--out", type=Path, default=HERE / "out" / "submit.json")
    args = ap.parse_args()
    results = []
    for shape in SHAPES if args.shape == "both" else [args.shape]:
        results.append(bench_shape(shape, args))
        print(json.dumps(results[-1]), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1) + "\n")
    print()
    print("| shape | change | floor: git diff + unidiff | submit --dry-run | ratio (goal <= 1.3) "
          "| CPU time floor / submit | CPU ratio | peak RSS floor / submit | RSS ratio (goal <= 1.5) |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        label = LABELS[r["shape"]] + (", counting with tiktoken" if r.get("tiktoken") else "")
        print(f"| {label} | {r['files']:,} files, {r['changed_lines']:,} changed lines "
              f"| {r['floor_seconds']} s | {r['tool_seconds']} s | {r['ratio']}x "
              f"| {r['floor_cpu_seconds']} s / {r['tool_cpu_seconds']} s | {r['cpu_ratio']}x "
              f"| {r['floor_peak_rss_mib']} MiB / {r['tool_peak_rss_mib']} MiB | {r['rss_ratio']}x |")


if __name__ == "__main__":
    main()
