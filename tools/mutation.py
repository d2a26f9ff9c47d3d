"""Mutation testing of the pure core: how many small deliberate bugs would the tests let through?

    pip install -e '.[test,mutation]'
    python tools/mutation.py [module ...]        # default: every module in tools/mutation/modules.toml
    python tools/mutation.py --survivors results # after adding tests: only what the last run did not kill
    python tools/mutation.py --report            # only rewrite docs/mutation.md from the saved results

For each module, cosmic-ray (https://cosmic-ray.readthedocs.io) makes one mutant per mutation site and
operator and runs `pytest -x` over the module's tests (tools/mutation/modules.toml: its unit tests, then
the end-to-end tests) against it. A mutant is killed when a test fails (or the run exceeds the timeout:
an endless loop is a bug the suite caught), survived when every test passed. Mutants that cannot change
behaviour are listed, each with its reason, in tools/mutation/equivalent.toml and left out of the score.

The run never touches the work tree: it copies the project (tracked and untracked, not ignored, files as
they are on disk) into a temporary directory, mutates the copy, and runs the tests there with the copy's
src/ first on PYTHONPATH. One mutant at a time, so it fits a shared 2-core machine; it is slow (minutes
per module), which is why it is not part of CI. Each module's result is saved as
tools/mutation/results/<module>.json (survivors with their diffs) and summarised in docs/mutation.md.
"""

from __future__ import annotations

import argparse
import ast
import datetime as dt
import difflib
import hashlib
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "tools" / "mutation"
RESULTS = CONFIG / "results"
DOC = ROOT / "docs" / "mutation.md"
BEGIN, END = "<!-- mutation-table:begin -->", "<!-- mutation-table:end -->"

# Binary and comparison operators: cosmic-ray replaces each by every other one (11 and 6-7 mutants per site).
# We keep one replacement per arithmetic operator and, for comparisons, the boundary and the negation
# (`<` -> `<=` and `>=`): the others are killed by the same tests and would triple the run time.
KEEP_BINARY = ("Add_Sub", "Sub_Add", "Mul_Div", "Div_Mul", "FloorDiv_Mul", "Mod_FloorDiv", "Pow_Mul",
               "BitOr_BitAnd", "BitAnd_BitOr", "BitXor_BitOr", "LShift_RShift", "RShift_LShift")
KEEP_COMPARISON = ("Eq_NotEq", "NotEq_Eq", "Lt_LtE", "Lt_GtE", "LtE_Lt", "LtE_Gt", "Gt_GtE", "Gt_LtE",
                   "GtE_Gt", "GtE_Lt", "Is_IsNot", "IsNot_Is")
KEEP_UNARY = ("USub_UAdd", "Delete_USub", "Delete_Invert", "Delete_Not")
EXCLUDED_OPERATORS = [
    rf"core/ReplaceBinaryOperator_(?!({'|'.join(KEEP_BINARY)})$)",
    rf"core/ReplaceComparisonOperator_(?!({'|'.join(KEEP_COMPARISON)})$)",
    rf"core/ReplaceUnaryOperator_(?!({'|'.join(KEEP_UNARY)})$)",
]
ANNOTATION = "a type annotation: never evaluated (from __future__ import annotations)"
KILLED_BEFORE = "killed in the previous run (--survivors: only the tests changed since)"
MIN_TIMEOUT = 30.0  # seconds for one mutant's test run, at least
TIMEOUT_FACTOR = 4  # times the unmutated run's duration


def load_modules() -> dict[str, dict]:
    return tomllib.loads((CONFIG / "modules.toml").read_text())["modules"]


def load_equivalents() -> dict[str, list[dict]]:
    """module -> [{operator, before, after, reason}]: mutants that behave exactly like the original."""
    data = tomllib.loads((CONFIG / "equivalent.toml").read_text())
    for module, entries in data.items():
        for entry in entries:
            missing = {"operator", "before", "after", "reason"} - entry.keys()
            if missing:
                raise SystemExit(f"tools/mutation/equivalent.toml: an entry of [{module}] lacks {sorted(missing)}")
    return data


def copy_project(dest: Path) -> None:
    """The project's files as they are on disk (tracked and untracked, not ignored), without .git."""
    names = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                           check=True, capture_output=True).stdout.decode().split("\0")
    for name in filter(None, names):
        src = ROOT / name
        if src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)


def test_command(spec: dict) -> list[str]:
    return [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "-o", "addopts=",
            "--hypothesis-profile=mutation", *spec["unit"], *spec.get("e2e", [])]


def toml_string(value: str) -> str:
    return json.dumps(value)  # a JSON string is a valid TOML basic string


def write_session_config(work: Path, spec: dict, timeout: float) -> Path:
    path = work / "cosmic-ray.toml"
    path.write_text("\n".join([
        "[cosmic-ray]",
        f"module-path = {toml_string(spec['path'])}",
        f"timeout = {timeout:.0f}",
        "excluded-modules = []",
        f"test-command = {toml_string(shlex.join(test_command(spec)))}",
        "",
        "[cosmic-ray.distributor]",
        'name = "local"',
        "",
        "[cosmic-ray.filters.operators-filter]",
        f"exclude-operators = [{', '.join(toml_string(e) for e in EXCLUDED_OPERATORS)}]",
        "",
    ]))
    return path


def annotation_spans(source: str) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """((line, column), (end line, end column)) of every type annotation, columns in characters."""
    if "from __future__ import annotations" not in source:
        return []  # annotations are evaluated: a mutant in one can change what the module does
    lines = source.splitlines()

    def chars(line: int, offset: int) -> int:  # ast columns are UTF-8 byte offsets
        return len(lines[line - 1].encode()[:offset].decode(errors="ignore"))

    spans = []
    for node in ast.walk(ast.parse(source)):
        found = [getattr(node, "returns", None), getattr(node, "annotation", None)]
        for a in filter(None, found):
            spans.append(((a.lineno, chars(a.lineno, a.col_offset)), (a.end_lineno, chars(a.end_lineno, a.end_col_offset))))
    return spans


def skip_annotation_mutants(session: Path, module: Path) -> None:
    """Mark the mutants inside type annotations as equivalent before running them: with `from __future__
    import annotations` no annotation is ever evaluated, so `int | None` -> `int & None` changes nothing."""
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import WorkerOutcome, WorkResult

    spans = annotation_spans(module.read_text())
    with use_db(str(session), WorkDB.Mode.open) as db:
        for item in list(db.pending_work_items):
            start = tuple(item.mutations[0].start_pos)
            if any(a <= start < b for a, b in spans):
                db.set_result(item.job_id, WorkResult(worker_outcome=WorkerOutcome.SKIPPED, output=ANNOTATION))


def only_previous_survivors(session: Path, module: Path, previous: dict) -> None:
    """--survivors: run again only the mutants the previous run did not kill (its survivors and equivalent
    ones, recognised by operator and changed lines); the others count as killed, which holds as long as
    the module is unchanged and no test was removed."""
    from cosmic_ray.mutating import mutate_code
    from cosmic_ray.plugins import get_operator
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import WorkerOutcome, WorkResult

    source = module.read_text()
    again = {(e["operator"], e["before"], e["after"]) for e in previous["survivors"] + previous["equivalent"]}
    with use_db(str(session), WorkDB.Mode.open) as db:
        for item in list(db.pending_work_items):
            m = item.mutations[0]
            try:
                mutated = mutate_code(source, get_operator(m.operator_name)(**(m.operator_args or {})), m.occurrence)
            except Exception:  # noqa: BLE001 - cosmic-ray cannot make this mutant: run it, it counts as incompetent
                continue
            diff = "".join(difflib.unified_diff(source.splitlines(True), (mutated or "").splitlines(True)))
            if (m.operator_name, *changed_lines(diff)) not in again:
                db.set_result(item.job_id, WorkResult(worker_outcome=WorkerOutcome.SKIPPED, output=KILLED_BEFORE))


def changed_lines(diff: str) -> tuple[str, str]:
    """(the original line(s), the mutated line(s)) of a cosmic-ray diff, stripped: the key of an equivalent
    mutant that survives the code moving around."""
    body = diff.splitlines()
    body = body[next((i for i, line in enumerate(body) if line.startswith("@@")), len(body)):]
    before = [line[1:].strip() for line in body if line.startswith("-")]
    after = [line[1:].strip() for line in body if line.startswith("+")]
    return "\n".join(before), "\n".join(after)


def classify(dump: list, equivalents: list[dict]) -> dict:
    counts = {"mutants": 0, "killed": 0, "timeouts": 0, "survived": 0, "equivalent": 0, "incompetent": 0}
    survivors, equivalent, annotations, used = [], [], [], set()
    for item, result in dump:
        mutation = item["mutations"][0]
        entry = {"operator": mutation["operator_name"], "line": mutation["start_pos"][0],
                 "function": mutation.get("definition_name")}
        if result is not None and result.get("output") == KILLED_BEFORE:
            counts["mutants"] += 1
            counts["killed"] += 1
            continue
        if result is not None and result.get("output") == ANNOTATION:
            counts["mutants"] += 1
            counts["equivalent"] += 1
            annotations.append(entry)
            continue
        if result is None or result["worker_outcome"] in ("skipped", "no-test"):
            continue
        counts["mutants"] += 1
        before, after = changed_lines(result.get("diff") or "")
        entry.update(before=before, after=after)
        if result["worker_outcome"] != "normal" or result["test_outcome"] == "incompetent":
            counts["incompetent"] += 1
            continue
        if result["test_outcome"] == "killed":  # a killed mutant is not equivalent, whatever a listing says
            counts["killed"] += 1
            counts["timeouts"] += (result.get("output") or "") == "timeout"
            continue
        match = next((i for i, e in enumerate(equivalents) if (e["operator"], e["before"], e["after"]) == (
            entry["operator"], before, after)), None)
        if match is not None:
            used.add(match)
            counts["equivalent"] += 1
            equivalent.append({**entry, "reason": equivalents[match]["reason"]})
        else:
            counts["survived"] += 1
            survivors.append({**entry, "diff": result.get("diff") or ""})
    scored = counts["killed"] + counts["survived"]
    return {"counts": counts, "score": round(100 * counts["killed"] / scored, 1) if scored else None,
            "survivors": survivors, "equivalent": equivalent, "annotations": annotations,
            "stale_equivalents": [e for i, e in enumerate(equivalents) if i not in used]}


def run_module(name: str, spec: dict, equivalents: list[dict], previous: dict | None = None) -> dict:
    commit = git_head()
    source_sha = hashlib.sha256((ROOT / spec["path"]).read_bytes()).hexdigest()
    if previous is not None and previous.get("source_sha256", source_sha) != source_sha:
        raise SystemExit(f"{name}: {spec['path']} changed since the last run; --survivors needs a full run")
    with tempfile.TemporaryDirectory(prefix=f"mutation-{name}-") as tmp:
        work = Path(tmp)
        copy_project(work)
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(work / "src"), os.environ.get("PYTHONPATH", "")]),
               "PYTHONDONTWRITEBYTECODE": "1"}
        started = time.monotonic()
        baseline = subprocess.run(test_command(spec), cwd=work, env=env, capture_output=True, text=True)
        took = time.monotonic() - started
        if baseline.returncode != 0:
            sys.stdout.write(baseline.stdout[-3000:])
            raise SystemExit(f"{name}: the tests fail without any mutation (exit {baseline.returncode}); fix that first")
        timeout = max(MIN_TIMEOUT, TIMEOUT_FACTOR * took)
        cfg = write_session_config(work, spec, timeout)
        session = work / "session.sqlite"
        cr = [sys.executable, "-m", "cosmic_ray.cli"]
        subprocess.run([*cr, "init", str(cfg), str(session)], cwd=work, env=env, check=True)
        subprocess.run([sys.executable, "-m", "cosmic_ray.tools.filters.operators_filter", str(session), str(cfg)],
                       cwd=work, env=env, check=True)
        skip_annotation_mutants(session, work / spec["path"])
        if previous is not None:
            only_previous_survivors(session, work / spec["path"], previous)
        print(f"{name}: tests take {took:.0f}s unmutated; timeout {timeout:.0f}s per mutant", flush=True)
        subprocess.run([*cr, "exec", str(cfg), str(session)], cwd=work, env=env, check=True)
        dump = subprocess.run([*cr, "dump", str(session)], cwd=work, env=env, check=True, capture_output=True,
                              text=True).stdout
    result = classify([json.loads(line) for line in dump.splitlines() if line.strip()], equivalents)
    result.update(module=name, path=spec["path"], source_sha256=source_sha, tests=spec["unit"] + spec.get("e2e", []),
                  date=dt.date.today().isoformat(), commit=commit, minutes=round((time.monotonic() - started) / 60))
    return result


def git_head() -> str:
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True,
                           text=True).stdout.strip()
    return head.strip() + ("+changes" if dirty else "")


def table(results: list[dict]) -> str:
    rows = ["| module | mutants | killed | survived | equivalent (excluded) | incompetent | score | run |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
    for r in results:
        c = r["counts"]
        rows.append(f"| {r['module']} | {c['mutants']} | {c['killed']} | {c['survived']} | {c['equivalent']} | "
                    f"{c['incompetent']} | {r['score']}% | {r['date']}, {r['commit']}, {r['minutes']} min |")
    lines = [*rows, ""]
    for r in results:
        if r.get("annotations"):
            lines += [f"{len(r['annotations'])} equivalent mutants of {r['module']} are in type annotations (lines "
                      f"{', '.join(str(a['line']) for a in r['annotations'])}), which are never evaluated.", ""]
        if r["equivalent"]:
            lines += [f"Equivalent mutants of {r['module']} (not scored):", ""]
            lines += [f"- line {e['line']} ({e['function']}), `{e['before']}` -> `{e['after']}`: {e['reason']}"
                      for e in r["equivalent"]]
            lines.append("")
        if r["survivors"]:
            lines += [f"Surviving mutants of {r['module']}:", ""]
            lines += [f"- line {s['line']} ({s['function']}), {s['operator'].removeprefix('core/')}: "
                      f"`{s['before']}` -> `{s['after']}`" for s in r["survivors"]]
            lines.append("")
    return "\n".join(lines).replace("\n\n\n", "\n\n")


def write_doc() -> None:
    results = [json.loads(p.read_text()) for p in sorted(RESULTS.glob("*.json"))]
    order = list(load_modules())
    results.sort(key=lambda r: order.index(r["module"]) if r["module"] in order else len(order))
    text = DOC.read_text()
    if BEGIN not in text or END not in text:
        raise SystemExit(f"{DOC.relative_to(ROOT)}: the markers {BEGIN} and {END} are missing")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    DOC.write_text(f"{head}{BEGIN}\n{table(results)}\n{END}{tail}")


def main(argv: list[str] | None = None) -> int:
    modules = load_modules()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("modules", nargs="*", metavar="module", help=f"any of: {', '.join(modules)} (default: all)")
    parser.add_argument("--report", action="store_true", help="only rewrite docs/mutation.md from saved results")
    parser.add_argument("--survivors", action="store_true",
                        help="run only what the last run did not kill (after adding tests, module unchanged)")
    args = parser.parse_args(argv)
    unknown = [m for m in args.modules if m not in modules]
    if unknown:
        parser.error(f"unknown module {unknown[0]!r} (tools/mutation/modules.toml has {', '.join(modules)})")
    if not args.report:
        equivalents = load_equivalents()
        RESULTS.mkdir(exist_ok=True)
        for name in args.modules or list(modules):
            saved = RESULTS / f"{name}.json"
            previous = json.loads(saved.read_text()) if args.survivors and saved.exists() else None
            result = run_module(name, modules[name], equivalents.get(name, []), previous)
            (RESULTS / f"{name}.json").write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n")
            c = result["counts"]
            print(f"{name}: {c['mutants']} mutants, {c['killed']} killed, {c['survived']} survived, "
                  f"{c['equivalent']} equivalent, score {result['score']}%", flush=True)
            for stale in result["stale_equivalents"]:
                print(f"{name}: equivalent.toml entry matched no mutant (remove it?): {stale['before']!r}")
    write_doc()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
