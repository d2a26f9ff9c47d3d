"""cli/eval_command.py: its flag parsers (one line naming the flag and what it takes, exit 2, before
anything else runs), which flags each step takes, and what `show` prints at each stage. The journey
itself is tested end to end in tests/eval/test_eval_e2e.py."""

from __future__ import annotations

import argparse
import datetime as dt
import types

import pytest

from batch_review.cli import commands as cli
from batch_review.cli import eval_command
from batch_review.cli.eval_command import _count, _date, _name, _words
from batch_review.core.errors import UsageError


@pytest.mark.parametrize("text", ["default", "gpt-5.1_run-2", "a" * 64])
def test_names_that_are_folder_names(text):
    assert _name(text) == text


@pytest.mark.parametrize("text", ["..", ".", "../up", "a/b", "-x", "", "a" * 65, "ü", "a b", ".hidden"])
def test_names_that_could_leave_the_eval_folder_are_refused(text):
    with pytest.raises(argparse.ArgumentTypeError, match="is not a name"):
        _name(text)


def test_dates_without_a_zone_are_utc_and_others_keep_theirs():
    assert _date("2025-03-01") == dt.datetime(2025, 3, 1, tzinfo=dt.UTC)
    assert _date("2025-03-01T12:00:00+02:00").utcoffset() == dt.timedelta(hours=2)
    with pytest.raises(argparse.ArgumentTypeError, match="'yesterday' is not a date"):
        _date("yesterday")


@pytest.mark.parametrize(("text", "ok"), [("1", True), ("100000", True), ("0", False), ("100001", False),
                                          ("-1", False), ("+5", False), (" 5", False), ("5.0", False),
                                          ("²", False), ("٣", False), ("", False)])
def test_counts_are_plain_whole_numbers_in_range(text, ok):
    parse = _count(1, 100_000)
    if ok:
        assert parse(text) == int(text)
    else:
        with pytest.raises(argparse.ArgumentTypeError, match="is not a whole number from 1 to 100,000"):
            parse(text)


def test_fix_words_are_split_and_checked():
    assert _words(" fix , Bug,,") == ("fix", "bug")
    with pytest.raises(argparse.ArgumentTypeError):
        _words("fix,.*")


@pytest.mark.parametrize(("args", "says"), [
    (["--limit", "²"], "--limit: '²' is not a whole number from 1 to 100,000"),
    (["--near", "101"], "--near: '101' is not a whole number from 0 to 100"),
    (["--name", "../x"], "--name: '../x' is not a name"),
    (["bogus"], "invalid choice: 'bogus'"),
])
def test_a_bad_flag_is_one_line_before_anything_runs(args, says, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # not a checkout: parsing comes first
    assert cli.main(["eval", *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and says in err[0], err
    assert list(tmp_path.iterdir()) == []


def _args(step=None, **given):
    keys = {key for _, key in eval_command.MINING_FLAGS} | {"compare", "near"}
    return types.SimpleNamespace(step=step, **{k: given.get(k) for k in keys})


@pytest.mark.parametrize("key", ["rev", "since", "limit", "fix_words", "model", "dry_run"])
def test_report_takes_no_mining_flag(key):
    flag = dict((k, f) for f, k in eval_command.MINING_FLAGS)[key]
    with pytest.raises(UsageError, match=f"^{flag}: not with `eval report`"):
        eval_command._check_step(_args("report", **{key: "x"}))


def test_compare_only_with_report_and_near_with_both():
    with pytest.raises(UsageError, match="--compare: only with `eval report`"):
        eval_command._check_step(_args(compare="other"))
    eval_command._check_step(_args("report", compare="other", near=5))
    eval_command._check_step(_args(near=5, limit=3))


# --- show ---------------------------------------------------------------------------------------------

def _record(**kw):
    base = dict(name="nightly", notes=["2 fixes had no introducing commit"], requests={"a": 1, "b": 2},
                cases=[1, 2, 3], estimate={"batch_usd": 0.0123}, batches=[{"id": "batch_1"}, {"id": None}])
    return types.SimpleNamespace(**{**base, **kw})


def _shown(monkeypatch, outcome) -> list[str]:
    lines: list[str] = []
    monkeypatch.setattr(eval_command.actions_log, "echo", lines.append)
    eval_command.show(outcome)
    return lines


def test_show_a_dry_run_and_a_sent_eval(monkeypatch, tmp_path):
    planned = types.SimpleNamespace(record=_record(), stage="planned", folder=tmp_path, running=[])
    lines = _shown(monkeypatch, planned)
    assert lines[0] == "note: 2 fixes had no introducing commit"
    assert lines[1] == "eval nightly: 3 cases, 2 requests, estimated $0.01 at the batch price (upper bound)"
    assert lines[2] == f"dry run: the batch is in {tmp_path}; nothing sent"
    sent = types.SimpleNamespace(record=_record(), stage="submitted", folder=tmp_path, running=[])
    assert _shown(monkeypatch, sent)[-1].startswith("sent as batch_1; run `batch-review eval --name nightly` again")


def test_show_a_running_eval(monkeypatch, tmp_path):
    running = types.SimpleNamespace(record=_record(), stage="running", folder=tmp_path,
                                    running=["batch_1 in_progress (3/10 done)"])
    assert _shown(monkeypatch, running) == ["batch_1 in_progress (3/10 done)",
                                            "eval nightly: not finished; run it again later for the report"]


def test_show_a_report(monkeypatch, tmp_path):
    row = types.SimpleNamespace(threshold="high", recall=0.5, caught=1, cases=2, per_case=None, precision=0.25)
    scores = types.SimpleNamespace(rows=[row], unanswered=["c3"])
    reported = types.SimpleNamespace(record=_record(), stage="reported", folder=tmp_path, running=[],
                                     scores=scores, report=tmp_path / "report.md")
    lines = _shown(monkeypatch, reported)
    table = lines[0]
    assert "0.50" in table and "1/2" in table and "n/a" in table and "0.25" in table
    assert lines[1:] == ["1 case without an answer is not counted (see the report)",
                         f"report: {tmp_path / 'report.md'}"]
