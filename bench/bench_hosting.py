"""Benchmark: runner minutes a day that the two workflows cost a repository, before and after the poll gate
and the prebuilt image.

Measured here, each as a fresh process, median of --repeat runs:
  install   a fresh virtual environment plus `sh docker/install.sh` (the locked packages with their hashes,
            downloaded from the package index without a cache, as the image build does);
  startup   the installed `batch-review --version`;
  poll      the installed entrypoint as the runner calls it (`batch-review action`, command poll)
            against the GitHub emulator with nothing pending;
  gate      the poll workflow's first job: the gate action's step (gate/action.yml running gate/pending.sh,
            with the example's hourly schedule) with curl and jq against the same emulator, nothing pending.
Not measurable here (no Docker engine, no runner), so stated as assumptions, each a flag: the base image
pull, apt-get of git, the docker build's own overhead, the prebuilt image pull, a job's set-up and
clean-up, the checkout and upload steps, and the extra time of a poll that has work (the same before and
after). The source build is taken as base pull + apt-get + the measured install + build overhead.

Billing (docs.github.com, "Actions runner pricing"): each job is rounded up to a whole minute; Linux
2-core (ubuntu-latest) and 1-core (ubuntu-slim) per-minute rates are flags. Public repositories are free.

    python bench/bench_hosting.py                 # defaults: 24 hourly polls, 4 of them with work
    python bench/bench_hosting.py --busy-polls 0  # a repository with nothing submitted

Writes bench/out/hosting.json and prints a markdown table for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import venv
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from tests.emulators.github_emu import GitHubEmulator  # noqa: E402
from tests.emulators.openai_emu import OpenAIEmulator  # noqa: E402

TOKEN = "ghs_benchtoken0123456789"


def timed(cmd: list[str], **kw) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, timeout=900, **kw)
    return time.perf_counter() - start


def install(root: Path) -> tuple[float, Path]:
    """Fresh venv + docker/install.sh on a copy of the source; the venv's bin folder."""
    if root.exists():
        shutil.rmtree(root)
    source = root / "src"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(".git", ".venv*", "__pycache__", "*.egg-info",
                                                                    ".batch-review", "build", "bench"))
    start = time.perf_counter()
    venv.EnvBuilder(with_pip=True).create(root / "venv")
    env = {**os.environ, "PATH": f"{root / 'venv' / 'bin'}:{os.environ['PATH']}", "VIRTUAL_ENV": str(root / "venv")}
    env.pop("PYTHONPATH", None)
    subprocess.run(["sh", "docker/install.sh", str(source)], cwd=source, env=env, check=True, capture_output=True,
                   timeout=900)
    return time.perf_counter() - start, root / "venv" / "bin"


def action_env(bin_dir: Path, workspace: Path, github: GitHubEmulator, openai: OpenAIEmulator) -> dict:
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    env = {f"INPUT_{name.upper()}": str(spec.get("default", "")) for name, spec in action["inputs"].items()}
    env.update({"INPUT_COMMAND": "poll", "INPUT_OPENAI-API-KEY": "sk-bench", "INPUT_GITHUB-TOKEN": TOKEN,
                "INPUT_OPENAI-BASE-URL": openai.base_url, "PATH": f"{bin_dir}:/usr/local/bin:/usr/bin:/bin",
                "HOME": str(workspace), "GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "schedule",
                "GITHUB_WORKSPACE": str(workspace), "GITHUB_REPOSITORY": "acme/widgets",
                "GITHUB_API_URL": github.api_url, "GITHUB_RUN_ID": "1",
                "GITHUB_OUTPUT": str(workspace / "output"), "GITHUB_STEP_SUMMARY": str(workspace / "summary")})
    return env


def gate_env(workspace: Path, github: GitHubEmulator) -> tuple[Path, dict]:
    workflow = yaml.safe_load((ROOT / "examples" / "workflows" / "batch-review-poll.yml").read_text())
    (gate,) = workflow["jobs"]["pending"]["steps"]
    (step,) = yaml.safe_load((ROOT / "gate" / "action.yml").read_text())["runs"]["steps"]
    script = workspace / "gate.sh"
    script.write_text(step["run"])
    hourly = gate["with"]["hourly-schedule"]
    env = {"PATH": os.environ["PATH"], "GITHUB_OUTPUT": str(workspace / "gate-output"),
           "GITHUB_EVENT_NAME": "schedule", "GITHUB_API_URL": github.api_url, "GITHUB_REPOSITORY": "acme/widgets",
           "GITHUB_ACTION_PATH": str(ROOT / "gate"), "ARTIFACT_PREFIX": workflow["env"]["ARTIFACT_PREFIX"],
           "TOKEN": TOKEN, "SCHEDULE": hourly, "HOURLY": hourly, "REPO_ID": str(github.repo_id)}
    return script, env


def measure(repeat: int, work: Path) -> dict[str, float]:
    runs: dict[str, list[float]] = {"install": [], "startup": [], "poll": [], "gate": []}
    bin_dir = None
    for i in range(repeat):
        seconds, bin_dir = install(work / f"image{i}")
        runs["install"].append(seconds)
    workspace = work / "workspace"
    workspace.mkdir()
    with GitHubEmulator(token=TOKEN, repo="acme/widgets") as github, OpenAIEmulator(api_key="sk-bench") as openai:
        env = action_env(bin_dir, workspace, github, openai)
        script, genv = gate_env(workspace, github)
        for _ in range(repeat):
            runs["startup"].append(timed([str(bin_dir / "batch-review"), "--version"], env=env))
            runs["poll"].append(timed([str(bin_dir / "batch-review"), "action"], cwd=workspace, env=env))
            runs["gate"].append(timed([shutil.which("bash"), "--noprofile", "--norc", "-eo", "pipefail", str(script)],
                                      env=genv))
        assert "poll=false" in (workspace / "gate-output").read_text()
    return {name: statistics.median(values) for name, values in runs.items()}


def job(seconds: float, rate: float) -> dict:
    return {"seconds": seconds, "billed_minutes": math.ceil(seconds / 60), "usd": math.ceil(seconds / 60) * rate}


def scenarios(m: dict[str, float], a: argparse.Namespace) -> list[dict]:
    source_build = a.pull_base + a.apt_git + m["install"] + a.build_overhead
    action = m["startup"] + m["poll"]  # the action's own time with nothing pending
    steps = a.job_overhead + a.checkout + a.upload
    full_source = steps + source_build + action
    full_prebuilt = steps + a.pull_prebuilt + a.build_overhead + action
    gate = a.job_overhead + m["gate"]
    rows = []

    def day(name: str, jobs: list[tuple[int, dict]]) -> None:
        rows.append({"scenario": name, "jobs": sum(n for n, _ in jobs),
                     "runner_minutes": sum(n * j["seconds"] for n, j in jobs) / 60,
                     "billed_minutes": sum(n * j["billed_minutes"] for n, j in jobs),
                     "usd": sum(n * j["usd"] for n, j in jobs)})

    busy, empty = a.busy_polls, a.polls - a.busy_polls
    submit_source = job(full_source + a.submit_work, a.rate_2core)  # the nightly submit: one job a day
    submit_prebuilt = job(full_prebuilt + a.submit_work, a.rate_2core)
    day("before: every poll builds the image", [
        (1, submit_source), (empty, job(full_source, a.rate_2core)),
        (busy, job(full_source + a.work_seconds, a.rate_2core))])
    # after: every run starts with the gate job (the daily full poll's too), which answers in seconds
    day("after: gate, then build from source (vX.Y.Z-source)", [
        (1, submit_source), (a.polls + 1, job(gate, a.rate_1core)), (1, job(full_source, a.rate_2core)),
        (busy, job(full_source + a.work_seconds, a.rate_2core))])
    day("after: gate, then prebuilt image (vX.Y.Z)", [
        (1, submit_prebuilt), (a.polls + 1, job(gate, a.rate_1core)), (1, job(full_prebuilt, a.rate_2core)),
        (busy, job(full_prebuilt + a.work_seconds, a.rate_2core))])
    for row in rows:
        row["ratio_billed"] = row["billed_minutes"] / rows[0]["billed_minutes"]
        row["ratio_usd"] = row["usd"] / rows[0]["usd"]
    return rows


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--polls", type=int, default=24, help="hourly polls a day")
    p.add_argument("--busy-polls", type=int, default=4, help="polls a day that find a manifest waiting")
    p.add_argument("--pull-base", type=float, default=8.0, help="assumed: pull python:3.11-slim (s)")
    p.add_argument("--apt-git", type=float, default=15.0, help="assumed: apt-get update + install git (s)")
    p.add_argument("--build-overhead", type=float, default=3.0, help="assumed: docker build context, layers (s)")
    p.add_argument("--pull-prebuilt", type=float, default=12.0, help="assumed: pull the released image (s)")
    p.add_argument("--job-overhead", type=float, default=8.0, help="assumed: job set-up and clean-up (s)")
    p.add_argument("--checkout", type=float, default=2.0, help="assumed: sparse checkout of .github (s)")
    p.add_argument("--upload", type=float, default=2.0, help="assumed: upload step with nothing to upload (s)")
    p.add_argument("--work-seconds", type=float, default=20.0,
                   help="assumed: extra time of a poll with work (downloads, posting), same before and after")
    p.add_argument("--submit-work", type=float, default=30.0,
                   help="assumed: the nightly submit's own work (fetch, diff, upload), same before and after")
    p.add_argument("--rate-2core", type=float, default=0.008, help="USD a minute, Linux 2-core (ubuntu-latest)")
    p.add_argument("--rate-1core", type=float, default=0.002, help="USD a minute, Linux 1-core (ubuntu-slim)")
    a = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-hosting-") as tmp:
        m = measure(a.repeat, Path(tmp))
    rows = scenarios(m, a)
    out = HERE / "out"
    out.mkdir(exist_ok=True)
    (out / "hosting.json").write_text(json.dumps({"measured_seconds": m, "assumed": vars(a), "rows": rows}, indent=2))
    print(f"measured (median of {a.repeat}): install {m['install']:.1f} s, startup {m['startup']:.2f} s, "
          f"empty poll {m['poll']:.2f} s, gate {m['gate']:.2f} s")
    print(f"\n1 submit and {a.polls} hourly polls a day ({a.busy_polls} with a manifest waiting), "
          "plus the daily full poll after; a private repository\n")
    print("| workflows | jobs a day | runner minutes a day | billed minutes a day | USD a day | billed USD vs before |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['scenario']} | {r['jobs']} | {r['runner_minutes']:.1f} | {r['billed_minutes']} | "
              f"{r['usd']:.3f} | {r['ratio_usd']:.2f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
