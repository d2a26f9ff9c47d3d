"""The eval's record and its batch: a damaged or hand-edited record is one line naming the file and key; a
record pointing at a batch that is not this eval's reads nothing; a failed send leaves nothing running and
nothing half-written; a run killed after creating its batch is found again by its metadata, never sent
twice."""

from __future__ import annotations

import json

import pytest

from .conftest import silent

SINCE = ("--since", "2025-01-01")


def error_line(capsys) -> str:
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def edit(history, change) -> None:
    path = history.folder() / "eval.json"
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def test_a_failed_create_is_undone_and_the_next_call_starts_afresh(history, capsys):
    history.answer(silent)
    history.service.inject("POST", r"^/v1/batches$", 400)
    assert history.eval(*SINCE) == 1
    line = error_line(capsys)
    assert "creating the batch" in line and line.endswith("; nothing submitted")
    assert not history.folder().exists()
    assert [f for f in history.service.files.values() if f["purpose"] == "batch"] == [], "the upload was deleted"
    assert history.eval(*SINCE) == 0 and len(history.service.batches) == 1


def test_a_damaged_record_is_one_line_naming_it(history, capsys):
    history.folder().mkdir(parents=True)
    (history.folder() / "eval.json").write_text("{not json")
    assert history.eval() == 2
    assert "eval.json: not a readable eval record (JSONDecodeError); remove its folder" in error_line(capsys)


@pytest.mark.parametrize(("change", "key"), [
    (lambda d: d["cases"][0].update(bug_lines={"a.py": "12"}), "cases[0].bug_lines"),
    (lambda d: d["cases"][0].update(sha="../../etc"), "cases[0].sha"),
    (lambda d: d["batches"][0].update(file="../../../etc/passwd"), "batches[].file"),
    (lambda d: d.update(version=99), "version"),
    (lambda d: d.update(extra=1), "keys"),
    (lambda d: d["settings"].update(words="fix"), "settings.words"),
    (lambda d: d["estimate"].update(batch_usd="$1"), "estimate.batch_usd"),
    (lambda d: d.update(results={"requests": {}, "usage": {"m": {"input_tokens": "9"}}}), "results.usage.m"),
    (lambda d: d.update(results={"requests": {"x": {"status": "ok", "findings": "none"}}, "usage": {}}),
     "results.requests.x"),
])
def test_a_hand_edited_record_is_one_line_naming_the_key(history, capsys, change, key):
    history.answer(silent)
    assert history.eval(*SINCE) == 0
    capsys.readouterr()
    edit(history, change)
    assert history.eval() == 2
    assert f": {key}: unexpected value" in error_line(capsys)


def test_a_record_naming_another_runs_batch_reads_nothing(history, capsys):
    """The attacker edits the record to point at a batch of theirs (or a real review's): its metadata does
    not carry this eval's digest, so nothing of it is read or scored."""
    history.answer(silent)
    assert history.eval(*SINCE) == 0
    foreign = history.service.add_file(b"", "batch")["id"]
    other = json.loads(json.dumps(next(iter(history.service.batches.values()))))
    other.update(id="batch_foreign", input_file_id=foreign, metadata={"manifest_digest": "0" * 64})
    history.service.batches["batch_foreign"] = other
    history.service.complete_all()
    capsys.readouterr()
    edit(history, lambda d: d["batches"][0].update(id="batch_foreign"))
    assert history.eval() == 2
    assert "batch batch_foreign does not carry this eval's digest" in error_line(capsys)
    assert history.service.requests("GET", r"/content$") == []


def test_a_batch_created_but_not_recorded_is_found_not_sent_again(history):
    history.answer(silent)
    assert history.eval(*SINCE) == 0
    (batch_id,) = history.service.batches
    edit(history, lambda d: d["batches"][0].update(id=None))  # killed between create and save
    history.service.complete_all()
    assert history.eval() == 0
    assert list(history.service.batches) == [batch_id]
    assert history.record()["batches"][0]["id"] == batch_id and (history.folder() / "report.md").exists()


def test_going_on_through_another_provider_is_refused(history, capsys, tmp_path):
    history.answer(silent)
    assert history.eval(*SINCE) == 0
    config = tmp_path / "claude.yml"
    config.write_text("provider:\n  name: anthropic\nmodel: claude-haiku-4-5\n")
    capsys.readouterr()
    assert history.eval("--config", str(config)) == 2
    assert "was sent through provider openai, and the configuration now says anthropic" in error_line(capsys)
