"""cli/actions_log.py: workflow commands escaped as the runner reads them, plain lines outside Actions, and
every printed line redacted, even when a secret is written in pieces."""

from __future__ import annotations

import sys

from batch_review.cli import actions_log


def test_workflow_commands_escape_their_data_and_properties(monkeypatch, capsys):
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    actions_log.error("bad 100%\nsecond line", file="a,b:c.py", line=3)
    assert capsys.readouterr().out == "::error file=a%2Cb%3Ac.py,line=3::bad 100%25%0Asecond line\n"
    with actions_log.group("Stage: 100%\nnext"):
        actions_log.notice("done")
    assert capsys.readouterr().out == "::group::Stage: 100%25%0Anext\n::notice::done\n::endgroup::\n"


def test_outside_actions_messages_are_plain(monkeypatch, capsys):
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    actions_log.warning("careful", file="x.yml")
    with actions_log.group("Stage"):
        pass
    captured = capsys.readouterr()
    assert captured.err == "warning: x.yml: careful\n" and captured.out == ""


def test_printed_lines_are_redacted_even_when_written_in_pieces(monkeypatch, capsys):
    from batch_review.core.redact import register

    register("my-very-secret-value")
    with actions_log.redacting_streams():
        sys.stdout.write("half my-very-")
        sys.stdout.write("secret-value and Authorization: token ghp_abcdefghijklmnop\n")
        print("Bearer abc.def-ghi_jkl", file=sys.stderr)
        actions_log.mask("another-secret-value")
    out, err = capsys.readouterr()
    assert out.splitlines()[0] == "half [redacted] and Authorization: [redacted]"
    assert "abc.def" not in err and "Bearer [redacted]" in err
