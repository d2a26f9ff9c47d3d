"""submit/rules.py against real git: the rules files of a base commit, read from git's objects only, and
what a base branch that holds anything a merged pull request wrote cannot make it do."""

from __future__ import annotations

import os
import time

import pytest

from batch_review.git.repo import GitRepo
from batch_review.submit.rules import MAX_FILE_BYTES, RulesReader, inside

from ..gitfixture import Repo, git


@pytest.fixture
def repo(tmp_path) -> Repo:
    return Repo(tmp_path)


def reader(repo: Repo, **kw) -> RulesReader:
    return RulesReader(GitRepo(repo.path), **kw)


def used(rules) -> list[str]:
    return [f.path for f in rules.files]


def test_the_default_files_and_path_specific_ones_come_from_the_commit_named(repo):
    repo.write("AGENTS.md", "- base rule\n")
    repo.write(".github/copilot-instructions.md", "- copilot rule\n")
    repo.write(".github/instructions/py.instructions.md", '---\napplyTo: "**/*.py"\n---\n- python rule\n')
    repo.write(".github/instructions/sub/web.instructions.md", "---\napplyTo: web/**\n---\n- web rule\n")
    repo.write(".github/instructions/notes.md", "not an instructions file\n")
    base = repo.commit("rules")
    repo.write("AGENTS.md", "- the pull request's rule\n")
    repo.write("CLAUDE.md", "- added by the pull request\n")
    head = repo.commit("edit the rules")
    rules = reader(repo).rules(base)
    assert used(rules) == ["AGENTS.md", ".github/copilot-instructions.md", ".github/instructions/py.instructions.md",
                           ".github/instructions/sub/web.instructions.md"]
    assert rules.files[0].text == "- base rule"
    assert [f.path for f in reader(repo).rules(head).files][:2] == ["AGENTS.md", "CLAUDE.md"]  # the head differs
    # the work tree (the pull request's text on disk) plays no part
    repo.write("AGENTS.md", "- uncommitted text\n")
    assert reader(repo).rules(base).files[0].text == "- base rule"


def test_add_and_remove(repo):
    repo.write("AGENTS.md", "- a\n")
    repo.write("CLAUDE.md", "- c\n")
    repo.write("docs/REVIEW.md", "- review rule\n")
    repo.write(".github/instructions/py.instructions.md", '---\napplyTo: "**/*.py"\n---\n- p\n')
    base = repo.commit("rules")
    rules = reader(repo, add=["docs/REVIEW.md", "docs/missing.md"], remove=["CLAUDE.md", ".github/instructions/**"]
                   ).rules(base)
    assert used(rules) == ["AGENTS.md", "docs/REVIEW.md"]
    assert reader(repo, enabled=False).rules(base).files == ()
    assert reader(repo, max_tokens=0).rules(base).files == ()


def test_symbolic_links_are_followed_only_inside_the_tree(repo, tmp_path):
    outside = tmp_path / "secret.txt"
    outside.write_text("- a secret outside the repository\n")
    repo.write("AGENTS.md", "- the rules\n")
    os.symlink("AGENTS.md", repo.path / "CLAUDE.md")  # the common case: one text for both tools
    (repo.path / ".github").mkdir()
    os.symlink(str(outside), repo.path / ".github" / "copilot-instructions.md")
    (repo.path / ".github" / "instructions").mkdir()
    os.symlink("../../../secret.txt", repo.path / ".github" / "instructions" / "up.instructions.md")
    os.symlink("../../docs/py.md", repo.path / ".github" / "instructions" / "in.instructions.md")
    repo.write("docs/py.md", '---\napplyTo: "**/*.py"\n---\n- linked python rule\n')
    os.symlink("loop.instructions.md", repo.path / ".github" / "instructions" / "loop.instructions.md")
    base = repo.commit("links")
    rules = reader(repo).rules(base)
    assert used(rules) == ["AGENTS.md", ".github/instructions/in.instructions.md"]
    assert rules.files[1].text == "- linked python rule"
    skipped = dict(rules.skipped)
    assert skipped["CLAUDE.md"] == "the same text as AGENTS.md"
    assert skipped[".github/copilot-instructions.md"] == "a symbolic link out of the repository: not followed"
    assert skipped[".github/instructions/up.instructions.md"] == "a symbolic link out of the repository: not followed"
    assert "more than 5 symbolic links" in skipped[".github/instructions/loop.instructions.md"]
    assert "secret" not in "".join(f.text for f in rules.files)


def test_a_symlinked_github_folder_is_not_entered(repo, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "instructions").mkdir(parents=True)
    (elsewhere / "copilot-instructions.md").write_text("- outside\n")
    (elsewhere / "instructions" / "x.instructions.md").write_text("---\napplyTo: '**'\n---\n- outside\n")
    os.symlink(str(elsewhere), repo.path / ".github")
    base = repo.commit("a linked .github")
    assert reader(repo).rules(base).files == ()


def test_huge_binary_and_broken_files_are_refused_with_their_reason(repo):
    repo.write("AGENTS.md", "- x\n" * (MAX_FILE_BYTES // 4 + 1))
    repo.write("CLAUDE.md", b"\x89PNG\r\n\x1a\n\0\0")
    repo.write(".github/copilot-instructions.md", b"rules \xff\xfe in latin-1\n")
    repo.write(".github/instructions/bad.instructions.md", "---\napplyTo: '**'\n- never closed\n")
    base = repo.commit("hostile")
    rules = reader(repo).rules(base)
    assert rules.files == ()
    skipped = dict(rules.skipped)
    assert skipped["AGENTS.md"] == f"{MAX_FILE_BYTES + 4:,} bytes, over the {MAX_FILE_BYTES:,}-byte cap: not read"
    assert skipped["CLAUDE.md"].startswith("binary")
    assert skipped[".github/copilot-instructions.md"].startswith("not valid UTF-8")
    assert "not closed" in skipped[".github/instructions/bad.instructions.md"]


def test_a_commit_is_read_once_and_each_blob_once(repo, monkeypatch):
    repo.write("AGENTS.md", "- x\n")
    base = repo.commit("rules")
    git_repo = GitRepo(repo.path)
    calls = []
    real = git_repo._run
    monkeypatch.setattr(git_repo, "_run", lambda args, **kw: calls.append(args[0]) or real(args, **kw))
    rules_reader = RulesReader(git_repo)
    first = rules_reader.rules(base)
    assert rules_reader.rules(base) is first and len(calls) == 2  # one listing, one blob


@pytest.mark.parametrize(("link", "target", "expected"), [
    ("CLAUDE.md", "AGENTS.md", "AGENTS.md"),
    (".github/instructions/a.instructions.md", "../../docs/a.md", "docs/a.md"),
    ("CLAUDE.md", "../AGENTS.md", None),
    ("a/CLAUDE.md", "../../x", None),
    ("CLAUDE.md", "/etc/passwd", None),
    ("CLAUDE.md", ".", None),
    ("CLAUDE.md", "x\ny", None),
    ("CLAUDE.md", "", None),
])
def test_inside(link, target, expected):
    assert inside(link, target) == expected


def test_the_rules_keep_room_for_the_diff_under_a_small_request_budget(repo):
    from batch_review.config.models import from_mapping

    cfg = from_mapping({"max_input_tokens": 2000, "rules_files": {"max_tokens": 5000}}, "test")
    assert RulesReader.of(GitRepo(repo.path), cfg).max_tokens == 500
    cfg = from_mapping({"rules_files": {"add": ["docs/REVIEW.md"], "remove": ["CLAUDE.md"], "max_tokens": 300}}, "t")
    rules_reader = RulesReader.of(GitRepo(repo.path), cfg)
    assert rules_reader.paths[-1] == "docs/REVIEW.md" and rules_reader.max_tokens == 300


def test_applyto_patterns_are_capped_in_all(repo):
    """Each path of a change is matched against every glob of every instruction file: 100 files of 64
    globs each would be 6,400 globs a path. Past MAX_PATTERNS_IN_ALL the files are named and not used."""
    from batch_review.submit.rules import MAX_PATTERNS_IN_ALL

    globs = ",".join(f"src/{i}/**" for i in range(64))
    for n in range(10):
        repo.write(f".github/instructions/f{n}.instructions.md", f"---\napplyTo: '{globs}'\n---\n- rule {n}\n")
    base = repo.commit("many globs")
    rules = reader(repo).rules(base)
    assert len(used(rules)) == MAX_PATTERNS_IN_ALL // 64
    assert dict(rules.skipped)[".github/instructions/f9.instructions.md"] == \
        f"more than {MAX_PATTERNS_IN_ALL} applyTo patterns in all: not used"


def test_a_submodule_and_a_yaml_bomb_are_not_rules(repo):
    """AGENTS.md as a gitlink (what a .gitmodules entry points at) is no file to read; front matter of
    anchors and aliases (a YAML bomb) is read as plain text, never expanded."""
    repo.write("README.md", "x\n")
    first = repo.commit("first")
    repo.write(".gitmodules", '[submodule "AGENTS.md"]\n\tpath = AGENTS.md\n\turl = ../../../etc\n')
    bomb = "---\na: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n" for i in range(20)) + \
        "applyTo: *u\n---\n- bomb rule\n"
    repo.write(".github/instructions/bomb.instructions.md", bomb)
    git(repo.path, "add", "-A")
    git(repo.path, "update-index", "--add", "--cacheinfo", f"160000,{first},AGENTS.md")
    git(repo.path, "commit", "-q", "-m", "submodule and bomb")
    base = repo.head()
    assert git(repo.path, "ls-tree", base, "AGENTS.md").startswith("160000 commit")
    started = time.perf_counter()
    rules = reader(repo).rules(base)
    assert time.perf_counter() - started < 2
    assert dict(rules.skipped)["AGENTS.md"] == "not a file"
    assert [(f.path, f.apply_to.text) for f in rules.files] == [(".github/instructions/bomb.instructions.md", "*u")]
    assert not rules.files[0].apply_to.matches("src/app.py")


def test_ten_thousand_instruction_files_and_a_name_that_is_not_utf8(repo):
    """A base tree (built with git's plumbing, as a push can carry it) with 10,000 instruction files, one
    of them named in bytes that are not UTF-8: the first MAX_INSTRUCTION_FILES by path are read, the rest
    named and not read, quickly; the odd name is kept escaped, never an error."""
    import subprocess

    from batch_review.submit.rules import MAX_INSTRUCTION_FILES

    def run(*args: str, data: bytes = b"") -> str:
        return subprocess.run(["git", "-C", str(repo.path), *args], input=data, capture_output=True,
                              check=True).stdout.decode().strip()

    blob = run("hash-object", "-w", "--stdin", data=b"---\napplyTo: '**/*.py'\n---\n- rule\n")
    names = [b"\xff\xfe.instructions.md"] + [f"f{i:05d}.instructions.md".encode() for i in range(10_000)]
    listing = b"".join(b"100644 blob " + blob.encode() + b"\t" + name + b"\0" for name in names)
    instructions = run("mktree", "-z", data=listing)
    github = run("mktree", data=f"040000 tree {instructions}\tinstructions\n".encode())
    root = run("mktree", data=f"040000 tree {github}\t.github\n".encode())
    commit = run("commit-tree", root, "-m", "many", data=b"")
    started = time.perf_counter()
    rules = reader(repo).rules(commit)
    assert time.perf_counter() - started < 10
    assert used(rules) == [".github/instructions/\\xff\\xfe.instructions.md"]  # every other one the same text
    skipped = dict(rules.skipped)
    assert len(skipped) == MAX_INSTRUCTION_FILES  # one note for the 9,901 not read, not a line each
    assert skipped[".github/instructions/f00099.instructions.md and 9,900 more after it"] == \
        f"more than {MAX_INSTRUCTION_FILES} instruction files: not read"
    assert skipped[".github/instructions/f00000.instructions.md"] == \
        "the same text as .github/instructions/\\xff\\xfe.instructions.md"


def test_a_remove_glob_that_cannot_be_read_is_one_clear_error(repo):
    """rules_files.remove keeps a file the team does not want read: a glob that cannot be read must not
    be dropped in silence (the file would be read after all)."""
    from batch_review.core.errors import ConfigError

    with pytest.raises(ConfigError, match=r"^rules_files\.remove: '\*\*/x\{a,b\}.*: applyTo has more than 64 patterns$"):
        reader(repo, remove=["**/x" + "{a,b}" * 7])
