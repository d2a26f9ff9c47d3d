"""`batch-review eval` end to end: the planted history mined, one batch through the real client and the
emulator (which validates every request line against the official API description), its batch waited
for, collected and scored. The scripted models get exact scores: the finder catches every case, the
silent model none, the noisy one every case with an exact share of its findings on bug lines."""

from __future__ import annotations

import json
from fractions import Fraction

import pytest

from batch_review.cli.commands import main as cli_main
from batch_review.eval.record import EvalRecord
from batch_review.eval.scoring import score_record

from ..markdown_view import visible
from .conftest import finder, noisy, rendered_rows, silent
from .histories import run_git

SINCE = ("--since", "2025-01-01")


def scores_of(world, name: str = "default") -> dict:
    s = score_record(EvalRecord.load(world.folder(name) / "eval.json"))
    return {r.threshold: (r.recall, r.per_case, r.precision) for r in s.rows}


def run_to_report(world, *flags: str, name: str = "default") -> None:
    assert world.eval("--name", name, *SINCE, *flags) == 0
    world.service.complete_all()
    assert world.eval("--name", name) == 0


def test_the_finder_catches_every_case_at_every_severity_up_to_its_own(history, capsys):
    history.answer(finder(history.planted.snippets, "high"))
    run_to_report(history)
    one = Fraction(1)
    assert scores_of(history) == {
        "info": (one, Fraction(5, 4), one), "low": (one, Fraction(5, 4), one), "medium": (one, Fraction(5, 4), one),
        "high": (one, Fraction(5, 4), one), "critical": (Fraction(0), Fraction(0), None)}
    out = capsys.readouterr().out
    assert "high                 1.00     4/4           1.25       1.00" in out
    assert "critical             0.00     0/4           0.00        n/a" in out


def test_the_silent_model_catches_nothing(history):
    history.answer(silent)
    run_to_report(history)
    assert scores_of(history) == {t: (Fraction(0), Fraction(0), None)
                                  for t in ("info", "low", "medium", "high", "critical")}


def test_the_noisy_model_catches_every_case_with_five_of_nine_findings_on_bug_lines(history):
    history.answer(noisy(history.planted.snippets))
    run_to_report(history)
    one = Fraction(1)
    assert scores_of(history) == {
        "info": (one, Fraction(9, 4), Fraction(5, 9)), "low": (one, Fraction(9, 4), Fraction(5, 9)),
        "medium": (one, Fraction(9, 4), Fraction(5, 9)), "high": (Fraction(0), one, Fraction(0)),
        "critical": (Fraction(0), Fraction(0), None)}


def test_one_batch_of_one_request_per_introducing_commit_with_the_planted_bug_lines(history):
    history.answer(silent)
    assert history.eval(*SINCE) == 0
    record = history.record()
    w = history
    assert [c["sha"] for c in record["cases"]] == [w.sha("D"), w.sha("C"), w.sha("B"), w.sha("A")]
    assert {c["sha"]: c["bug_lines"] for c in record["cases"]} == {w.sha(r): w.planted.bugs[r] for r in "ABCD"}
    assert {c["sha"]: c["fixes"] for c in record["cases"]} == {
        w.sha("A"): [w.sha("fixA")], w.sha("B"): [w.sha("fixB"), w.sha("fixB2")], w.sha("C"): [w.sha("fixC")],
        w.sha("D"): [w.sha("fixD")]}
    (batch,) = w.service.batches.values()
    assert len(w.service.lines(batch["input_file_id"])) == 4
    assert "batch_review" not in batch["metadata"] and batch["metadata"]["batch_review_eval"] == "default"
    notes = "\n".join(record["notes"])
    assert f"fix {w.sha('fixRoot')[:12]}: 1 line blamed to 1 commit before 2025-01-01" in notes
    assert f"blamed to merge {w.sha('merge')[:12]}" in notes
    assert f"fix {w.sha('fixA')[:12]}: 1 binary file skipped (logo.png)" in notes


def test_the_second_call_waits_for_the_batch_and_the_third_reports(history, capsys):
    history.answer(finder(history.planted.snippets))
    assert history.eval(*SINCE) == 0
    out = capsys.readouterr().out
    (batch_id,) = history.service.batches
    assert f"sent as {batch_id}" in out
    assert history.eval() == 0
    assert "not finished" in capsys.readouterr().out and not (history.folder() / "report.md").exists()
    history.service.complete_all()
    assert history.eval() == 0
    rows = rendered_rows((history.folder() / "report.md").read_text())
    assert ["high", "1.00 (4 of 4)", "1.25", "1.00 (5 of 5)"] in rows
    assert (history.folder() / "recall.png").read_bytes().startswith(b"\x89PNG")
    downloads = len(history.service.requests("GET", r"/content$"))
    assert history.eval() == 0 and len(history.service.requests("GET", r"/content$")) == downloads, \
        "the results are kept: a later call writes the report without downloading them again"


def test_the_cost_estimated_and_actual_from_the_batchs_usage(history):
    history.answer(silent)
    run_to_report(history)
    record, report = history.record(), (history.folder() / "report.md").read_text()
    assert record["estimate"]["batch_usd"] > 0
    # 4 requests of 1,000 input and 100 output tokens at gpt-5-mini's price, halved: $0.0009
    assert record["results"]["usage"] == {"gpt-5-mini": {"input_tokens": 4000, "cached_input_tokens": 0,
                                                         "output_tokens": 400, "batch_usd": 0.0009}}
    assert ["actual (the batch's usage: 4,000 input, 400 output tokens)", "$0.0009"] in rendered_rows(report)


def test_two_configurations_side_by_side_on_the_same_cases(history, capsys):
    history.answer(finder(history.planted.snippets))
    run_to_report(history, name="finder")
    history.answer(silent)
    run_to_report(history, "--model", "gpt-5-nano", name="quiet")
    capsys.readouterr()
    assert history.eval("report", "--name", "finder", "--compare", "quiet") == 0
    report = (history.folder("finder") / "report.md").read_text()
    assert "## finder and quiet side by side" in report
    assert "finder: gpt-5-mini, quiet: gpt-5-nano" in visible(report)
    rows = rendered_rows(report)
    assert ["high", "1.00 (4 of 4)", "0.00 (0 of 4)", "1.25", "0.00", "1.00", "n/a"] in rows
    assert [history.sha("A")[:12], "high", "no"] in rows


def test_the_anthropic_batch_is_sent_and_scored_the_same_way(claude_history):
    w = claude_history
    w.answer(finder(w.planted.snippets))
    assert w.eval("--config", w.config, *SINCE) == 0
    (batch,) = w.service.batches.values()
    assert len(batch["requests"]) == 4
    w.service.complete_all()
    assert w.eval("--config", w.config) == 0
    assert scores_of(w)["high"] == (Fraction(1), Fraction(5, 4), Fraction(1))


def test_a_dry_run_writes_the_batch_and_its_estimate_and_sends_nothing(history, capsys):
    assert history.eval("--dry-run", *SINCE) == 0
    out = capsys.readouterr().out
    record = history.record()
    assert record["dry_run"] and history.service.log == []
    assert (history.folder() / "input-000.jsonl").exists() and "nothing sent" in out
    assert f"estimated ${record['estimate']['batch_usd']:.4f}" in out or "estimated $0.0" in out
    # the real run afterwards starts afresh and sends it
    assert history.eval(*SINCE) == 0 and len(history.service.batches) == 1


@pytest.mark.parametrize(("args", "flag"), [
    (["--since", "yesterday"], "--since"), (["--limit", "0"], "--limit"), (["--limit", "x"], "--limit"),
    (["--near", "-1"], "--near"), (["--fix-words", "fix,.*"], "--fix-words"), (["--name", "../up"], "--name"),
    (["--compare", "other"], "--compare"), (["report", "--since", "2025-01-01"], "--since"),
    (["report", "--name", "missing"], "--name"),
])
def test_a_bad_flag_is_one_line_naming_it_exit_2_and_nothing_sent(history, capsys, args, flag):
    assert history.eval(*args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and flag in err[0], err
    assert history.service.log == [] and not (history.state / "eval" / "default" / "eval.json").exists()


def test_other_settings_for_a_sent_eval_are_refused(history, capsys):
    history.answer(silent)
    assert history.eval(*SINCE) == 0
    capsys.readouterr()
    assert history.eval("--since", "2025-03-01") == 2
    assert "--since: eval 'default' was started with other settings" in capsys.readouterr().err
    assert len(history.service.batches) == 1


def test_over_budget_is_exit_3_and_nothing_written(history, capsys):
    (history.path / ".github").mkdir()
    config = history.path.parent / "tight.yml"
    config.write_text("budget:\n  max_cost_usd: 0.0001\n")
    assert history.eval("--config", str(config), *SINCE) == 3
    assert "over budget" in capsys.readouterr().err
    assert history.service.log == [] and not history.folder().exists()


def test_a_window_with_no_fix_says_so(history, capsys):
    assert history.eval("--since", "2025-06-02", "--fix-words", "hotfix") == 2
    assert "no commit message holds a fix word (hotfix)" in capsys.readouterr().err


def test_limit_keeps_the_newest_introducing_commits(history):
    history.answer(silent)
    assert history.eval(*SINCE, "--limit", "2", "--dry-run") == 0
    record = history.record()
    assert [c["sha"] for c in record["cases"]] == [history.sha("D"), history.sha("C")]
    assert "2 older introducing commits beyond --limit 2: not reviewed" in record["notes"]


def test_the_report_is_redone_at_another_k_without_asking_the_service(history):
    history.answer(noisy(history.planted.snippets))
    run_to_report(history)
    calls = len(history.service.log)
    assert history.eval("report", "--near", "100") == 0
    report = (history.folder() / "report.md").read_text()
    assert "within 100 lines" in visible(report)
    assert ["high", "1.00 (4 of 4)", "1.00", "1.00 (4 of 4)"] in rendered_rows(report)  # line 1 is near now
    assert len(history.service.log) == calls
    assert history.eval("--near", "0") == 0 and "within 0 lines" in visible((history.folder() / "report.md").read_text())
    assert json.loads((history.folder() / "eval.json").read_text())["settings"]["near"] == 3


def test_a_shallow_clone_is_refused_with_the_fetch_that_fixes_it(history, tmp_path, capsys):
    shallow = tmp_path / "shallow"
    run_git(tmp_path, "clone", "-q", "--depth", "2", f"file://{history.path}", str(shallow))
    assert history.eval("--repo", str(shallow)) == 2
    err = capsys.readouterr().err
    assert "shallow clone" in err and "git fetch --unshallow" in err and "fetch-depth: 0" in err
    assert history.service.log == []


def test_the_state_folder_in_the_checkout_keeps_itself_out_of_git(history, monkeypatch):
    assert cli_main(["eval", "--dry-run", "--since", "2025-01-01"]) == 0
    assert (history.path / ".batch-review" / ".gitignore").read_text().endswith("*\n")
    assert (history.path / ".batch-review" / "eval" / "default" / "eval.json").exists()
    assert run_git(history.path, "status", "--porcelain") == ""


def test_an_introducing_commit_too_large_to_review_as_one_is_skipped_in_one_line(tmp_path, monkeypatch, capsys):
    from .histories import History, lines

    h = History(tmp_path / "big")
    h.commit("start", {"a.py": "a = 1\n"}, "2025-01-01T00:00:00Z")
    big = h.commit("vendor a parser", {"big.py": lines(4000, "big")}, "2025-01-02T00:00:00Z")
    small = h.commit("small change", {"a.py": "a = 2\n"}, "2025-01-03T00:00:00Z")
    h.commit("fix both", {"big.py": lines(4000, "big", {7: "    fixed = 7"}), "a.py": "a = 3\n"},
             "2025-01-04T00:00:00Z")
    config = tmp_path / "small.yml"
    config.write_text("max_input_tokens: 1000\n")
    monkeypatch.chdir(h.path)
    assert cli_main(["eval", "--dry-run", "--config", str(config), "--state-dir", str(tmp_path / "s")]) == 0
    record = json.loads((tmp_path / "s" / "eval" / "default" / "eval.json").read_text())
    assert [c["sha"] for c in record["cases"]] == [small]
    (note,) = [n for n in record["notes"] if n.startswith(f"commit {big[:12]}")]
    assert note.endswith("over 8: too large to review as one; skipped")
    assert f"note: {note}" in capsys.readouterr().out


def test_an_unpriced_model_under_a_cost_limit_is_refused_before_mining(history, capsys):
    assert history.eval("--model", "gpt-9-unheard-of", "--dry-run", *SINCE) == 3
    err = capsys.readouterr().err
    assert "--model: 'gpt-9-unheard-of' has no known price, so budget.max_cost_usd" in err
    assert history.service.log == [] and not history.folder().exists()


def test_a_file_name_that_reads_as_a_workflow_command_is_printed_inert(tmp_path, monkeypatch, capsys):
    """The attacker names a binary file so that the note about it starts a line with `::error::` (a
    GitHub Actions workflow command) or `::add-mask::`; the note is printed, the command never runs."""
    from .histories import History, lines

    h = History(tmp_path / "evil")
    evil = "x\n::error::pwned\n::add-mask::everything.bin"
    h.commit("start", {"a.py": lines(5, "a"), evil: b"\x00one"}, "2025-01-01T00:00:00Z")
    h.commit("change", {"a.py": lines(5, "a", {2: "    a = 0"})}, "2025-01-02T00:00:00Z")
    h.commit("fix it", {"a.py": lines(5, "a"), evil: b"\x00two"}, "2025-01-03T00:00:00Z")
    monkeypatch.chdir(h.path)
    assert cli_main(["eval", "--dry-run", "--state-dir", str(tmp_path / "s")]) == 0
    out = capsys.readouterr().out
    assert "pwned" in out and "binary file skipped" in out
    assert not any(line.lstrip().startswith("::") for line in out.splitlines())
