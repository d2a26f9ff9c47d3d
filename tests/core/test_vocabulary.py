"""vocabulary.py: the shared words are defined once, and the pure core takes them from there, not from the
configuration (which imports the YAML loader) nor from any client or the environment."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from batch_review.core.vocabulary import (
    LEFT,
    RIGHT,
    SEVERITIES,
    SEVERITY_ALIASES,
    SIDE_ALIASES,
    Target,
    branches_key,
    counted,
    plural,
    severity_rank,
)

SRC = Path(__file__).resolve().parents[2] / "src" / "batch_review"
# HOUSE.md's pure core, by folder: these take data and return data. (A module listed here that disappears
# fails the test.)
PURE = ("core", "markdown", "findings",
        "planning/contract", "planning/rendering", "planning/packing", "planning/builder", "planning/openai_format",
        "planning/budget", "planning/pricing", "planning/anthropic_format",
        "ledger/manifest", "ledger/checks", "ledger/batchfile", "poll/review", "submit/targets")
# what the pure core never imports: a client, the YAML loader, the environment, a process, and our own edges
FORBIDDEN_OUTSIDE = {"yaml", "openai", "anthropic", "github", "httpx", "requests", "subprocess", "urllib3"}
FORBIDDEN_INSIDE = {"batch_review.config", "batch_review.cli", "batch_review.git", "batch_review.github",
                    "batch_review.providers", "batch_review.ledger.store", "batch_review.ledger.adoption"}
SHARED_WORDS = {"SEVERITIES", "SEVERITY_ALIASES", "RIGHT", "LEFT", "SIDE_ALIASES", "Finding", "Target",
                "DEFAULT_INSTRUCTIONS", "severity_rank", "branches_key", "FilePart"}


def pure_modules() -> list[Path]:
    out = []
    for entry in PURE:
        path = SRC / entry
        out += sorted(path.rglob("*.py")) if path.is_dir() else [path.with_suffix(".py")]
    return out


def imported_modules(path: Path, tree: ast.Module) -> set[str]:
    """Every module a file imports, relative imports resolved against its package (batch_review.x.y)."""
    package = ["batch_review", *path.relative_to(SRC).parent.parts]
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                stem = ".".join(package[:len(package) - node.level + 1] + ([node.module] if node.module else []))
                names |= {stem} if node.module else {f"{stem}.{a.name}" for a in node.names}
            else:
                names.add(node.module or "")
    return names


def defined_names(tree: ast.Module) -> set[str]:
    names = set()
    for node in tree.body:
        if isinstance(node, ast.ClassDef | ast.FunctionDef):
            names.add(node.name)
        for target in getattr(node, "targets", []) + [getattr(node, "target", None)]:
            elts = target.elts if isinstance(target, ast.Tuple) else [target]
            names |= {e.id for e in elts if isinstance(e, ast.Name)}
    return names


@pytest.mark.parametrize("path", pure_modules(), ids=lambda p: str(p.relative_to(SRC)))
def test_the_pure_core_imports_no_configuration_client_or_environment(path):
    assert path.is_file()
    tree = ast.parse(path.read_text())
    imported = imported_modules(path, tree)
    assert not {name.split(".")[0] for name in imported} & FORBIDDEN_OUTSIDE
    assert not {name for name in imported for inside in FORBIDDEN_INSIDE
                if name == inside or name.startswith(inside + ".")}
    attributes = {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
    assert not attributes & {"environ", "getenv"}


def test_the_import_resolver_sees_relative_imports():
    """The check above would pass vacuously if relative imports were not resolved: prove it sees them."""
    path = SRC / "cli" / "clients.py"
    imported = imported_modules(path, ast.parse(path.read_text()))
    assert "batch_review.ledger.store" in imported and "batch_review.core.provenance" in imported
    assert "batch_review.cli.actions_log" in imported  # `from . import actions_log`


def test_each_shared_word_is_defined_once_in_vocabulary():
    owners = {}
    for path in sorted(SRC.rglob("*.py")):
        for name in defined_names(ast.parse(path.read_text())) & SHARED_WORDS:
            owners.setdefault(name, []).append(path.stem)
    assert owners == {name: ["vocabulary"] for name in SHARED_WORDS}


def test_severities_rank_least_to_most_and_unknown_words_rank_as_medium():
    assert [severity_rank(s) for s in SEVERITIES] == [0, 1, 2, 3, 4]
    assert SEVERITIES[-1] == "critical" and SEVERITIES[0] == "info"
    for hostile in ("CRITICAL", "", "critical ", "__class__", "medium\n"):
        assert severity_rank(hostile) == severity_rank("medium")


def test_model_synonyms_only_name_known_severities_and_sides():
    assert set(SEVERITY_ALIASES.values()) <= set(SEVERITIES)
    assert set(SIDE_ALIASES.values()) == {RIGHT, LEFT}
    assert all(word == word.strip().lower() for word in (*SEVERITY_ALIASES, *SIDE_ALIASES))


def test_target_round_trips_through_the_manifest_and_keys_do_not_collide():
    pull = Target(kind="pull", repository="acme/w", base_ref="main", head_ref="f", head_sha="a" * 40, number=7,
                  title="t", author="octo", body="b")
    assert pull.key == "pr-7" and pull.label == "#7"
    assert "repository" not in pull.to_json()
    assert Target.from_json("acme/w", pull.to_json()) == pull
    pair = Target(kind="branches", repository="acme/w", base_ref="main", head_ref="dev", head_sha="b" * 40)
    assert "number" not in pair.to_json() and Target.from_json("acme/w", pair.to_json()) == pair
    assert pair.key == branches_key("main", "dev") and pair.label == "main...dev"
    assert branches_key("main", "dev") != branches_key("dev", "main")


# --- counts people read, in the right number (issue 22) ---

@pytest.mark.parametrize("n, noun, said", [
    (0, "finding", "0 findings"), (1, "finding", "1 finding"), (2, "finding", "2 findings"),
    (1, "request", "1 request"), (1_200, "request", "1,200 requests"), (2, "batch", "2 batches"),
    (2, "check run", "2 check runs"), (3, "failed request", "3 failed requests"), (2, "entry", "2 entries"),
    (2, "day", "2 days"), (1, "batch", "1 batch"),
])
def test_counts_are_in_the_right_number(n, noun, said):
    assert counted(n, noun) == said
    assert "(s)" not in counted(n, noun)


def test_plural_changes_only_the_last_word():
    assert plural(2, "pull request") == "pull requests" and plural(1, "pull request") == "pull request"
