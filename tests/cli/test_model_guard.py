"""The budget guard and the model's provider, through the real CLI: every refusal is one line, its exit code,
and nothing built, written or sent (issue 22, item 3).

Who writes the model name: the configuration file, `--model`, or the action's `model` input; a routing rule
may name more. Each of them can name a model the product has no price for (the cost guard would be off)
or another provider's model (it would fail at the service and be priced as the other provider's).
"""

from __future__ import annotations

import json

import pytest

from batch_review.cli import commands as cli

from ..conftest import ANTHROPIC_KEY, paths_of
from ..gitfixture import git


def one_line(capsys) -> str:
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ")
    return lines[0].removeprefix("error: ")


def nothing_happened(world) -> None:
    """No request reached the batch service or GitHub, and the state folder holds nothing."""
    assert world.openai.log == [] and world.github.log == []
    assert not world.state.exists() or list(world.state.iterdir()) == []


def branch_pair(world, *extra: str) -> int:
    """A dry run of a branch pair of the checkout (pull request 1's head against main): needs no GitHub, so
    any GitHub request is a leak."""
    git(world.repo.path, "fetch", "-q", "origin", "+refs/pull/1/head:refs/heads/feature-1")
    return world.submit("--dry-run", "--base", "main", "--head", "feature-1", *extra)


# --- no price while budget.max_cost_usd is set: exit 3 ------------------------------------------------------

@pytest.mark.parametrize(("config", "extra", "where", "model"), [
    ("model: gpt-5-turbo-max\n", (), ".github/batch-review.yml: model", "gpt-5-turbo-max"),
    ("", ("--model", "my-new-model"), "--model", "my-new-model"),
    ("routing:\n  - model: gpt-9\n    paths: ['*.py']\n", (), ".github/batch-review.yml: routing[0].model", "gpt-9"),
    ("verify:\n  model: gpt-9\n", (), ".github/batch-review.yml: verify.model", "gpt-9"),  # the verify round's
])
def test_an_unpriced_model_is_refused_with_exit_3_even_in_a_dry_run(world, capsys, config, extra, where, model):
    """Yesterday the cost guard was silently off for these: the run went out with "unknown price"."""
    world.configure(config or "incremental: true\n")
    assert branch_pair(world, *extra) == 3
    line = one_line(capsys)
    assert line.startswith(f"over budget: {where}: {model!r} has no known price, so budget.max_cost_usd ($5.00) "
                           "cannot be checked; ")
    assert f'price it under prices: ("{model}": {{input: …, output: …}}' in line
    assert line.endswith("or set budget.max_cost_usd: null for no cost limit")
    nothing_happened(world)


def test_a_near_miss_of_a_known_model_is_offered(world, capsys):
    assert branch_pair(world, "--model", "gpt-5-mimi") == 3
    assert "did you mean 'gpt-5-mini'? Or price it under prices:" in one_line(capsys)


def test_the_action_input_is_named_as_the_action_input(world, capsys, monkeypatch):
    """The action's `model` input becomes --model; the line names the input the user wrote."""
    for name, value in {"COMMAND": "submit", "DRY-RUN": "true", "MODEL": "llama-3.1-70b",
                        "STATE-DIR": str(world.state)}.items():
        monkeypatch.setenv(f"INPUT_{name}", value)
    assert cli.main(["action"]) == 3
    assert one_line(capsys).startswith("over budget: the action's model input: 'llama-3.1-70b' has no known price")
    nothing_happened(world)


def test_a_configured_price_or_no_cost_limit_lets_it_through(world, capsys):
    world.configure("model: my-new-model\nprices:\n  my-new-model: {input: 1.0, output: 2.0}\n")
    assert branch_pair(world) == 0
    assert json.loads(world.manifests()[0].read_text())["estimate"]["batch_usd"] > 0
    path = world.repo.path / ".github" / "batch-review.yml"
    path.write_text("model: my-new-model\nbudget:\n  max_cost_usd: null\n")
    assert branch_pair(world) == 0
    assert "unknown price" in capsys.readouterr().out  # the user turned the cost limit off: said, not guessed


def test_a_hostile_model_name_stays_one_line(world, capsys):
    """A model name is written into the error line: a line break or a workflow command in it stays inert."""
    assert branch_pair(world, "--model", "x\n::error::forged") == 3
    line = one_line(capsys)
    assert "'x\\n::error::forged'" in line and '"x\\n::error::forged"' in line


# --- another provider's model: exit 2 ---------------------------------------------------------------------

def test_a_claude_model_with_provider_openai_is_refused(world, capsys, monkeypatch):
    """OpenAI's own service (no base URL): a Claude model goes nowhere, whatever `prices:` says."""
    monkeypatch.delenv("OPENAI_BASE_URL")
    world.configure("model: claude-sonnet-4-5\nprices:\n  claude-sonnet-4-5: {input: 1, output: 1}\n")
    assert branch_pair(world) == 2
    assert one_line(capsys) == (
        ".github/batch-review.yml: model: 'claude-sonnet-4-5' is a Claude model, but provider.name is openai (in "
        ".github/batch-review.yml), which sends every request to OpenAI's Batch API; set provider.name: anthropic "
        "to review with Claude, or choose an OpenAI model")
    nothing_happened(world)


def test_model_flag_with_the_default_provider_says_so(world, capsys, monkeypatch):
    monkeypatch.delenv("OPENAI_BASE_URL")
    assert branch_pair(world, "--model", "claude-opus-4-5") == 2
    assert one_line(capsys).startswith("--model: 'claude-opus-4-5' is a Claude model, but provider.name is openai "
                                       "(the default), ")
    nothing_happened(world)


def test_an_openai_model_with_provider_anthropic_is_refused(claude_world, capsys, monkeypatch):
    monkeypatch.delenv("ANTHROPIC_BASE_URL")  # Anthropic's own service
    assert claude_world.submit("--dry-run", "--model", "gpt-4.1") == 2
    assert one_line(capsys) == (
        "--model: 'gpt-4.1' is an OpenAI model, but provider.name is anthropic (in .github/batch-review.yml), "
        "which sends every request to Anthropic's Message Batches API; set provider.name: openai to use it, or "
        "set model to a Claude model (e.g. claude-haiku-4-5)")
    assert claude_world.manifests() == [] and claude_world.openai.log == []


def test_the_default_model_with_provider_anthropic_asks_for_a_claude_model(world, capsys, monkeypatch):
    """`provider: {name: anthropic}` and no model: the default gpt-5-mini is not Claude's; say what to set."""
    monkeypatch.setenv("ANTHROPIC_API_KEY", ANTHROPIC_KEY)
    world.configure("provider:\n  name: anthropic\n")
    assert branch_pair(world) == 2
    assert "'gpt-5-mini' is an OpenAI model" in one_line(capsys)


def test_every_command_refuses_the_mismatch(world, capsys, monkeypatch):
    """The configuration contradicts itself: status and poll say so too, before any request."""
    monkeypatch.delenv("OPENAI_BASE_URL")
    world.configure("routing:\n  - model: claude-haiku-4-5\n    max_changed_lines: 10\n")
    for command in ("status", "poll"):
        assert world.run(command, "--state-dir", str(world.state)) == 2
        assert "routing[0].model: 'claude-haiku-4-5' is a Claude model" in one_line(capsys)
    nothing_happened(world)


# --- where names are the user's: a gateway, Azure deployments ---------------------------------------------

def test_a_gateway_runs_non_openai_models_once_priced(world, capsys):
    """OPENAI_BASE_URL points at another OpenAI-format service (the emulator stands in for it): a model no
    family claims is not locked out; it needs a price like any other while the cost limit is on."""
    world.configure("model: llama-3.1-70b\n")
    assert world.submit() == 3
    assert "'llama-3.1-70b' has no known price" in one_line(capsys)
    world.configure("prices:\n  llama-3.1-70b: {input: 0.5, output: 0.5}\n")
    assert world.submit() == 0
    (batch,) = world.openai.batches.values()
    assert {line["body"]["model"] for line in world.openai.lines(batch["input_file_id"])} == {"llama-3.1-70b"}


def test_a_claude_name_on_a_gateway_needs_the_users_own_price(world, capsys):
    """On a gateway a Claude name is refused unless priced under prices:, and then it is priced at that
    price, never at Anthropic's built-in one."""
    world.configure("model: claude-haiku-4-5\n")
    assert world.submit("--dry-run") == 2
    line = one_line(capsys)
    assert "'claude-haiku-4-5' is a Claude model, but provider.name is openai" in line
    assert line.endswith("; if that service runs it under this name, price it under prices: to send it there")
    nothing_happened(world)
    world.configure("prices:\n  claude-haiku-4-5: {input: 10.0, output: 0.0}\n")
    assert world.submit() == 0
    m = json.loads(world.manifests()[0].read_text())
    tokens = m["estimate"]["input_tokens"]
    assert m["estimate"]["batch_usd"] == pytest.approx(tokens * 10.0 / 2e6, abs=1e-6)  # not Claude's $1/M


@pytest.fixture
def azure_world(tmp_path, github_emu, monkeypatch):
    from ..conftest import OPENAI_KEY, make_world
    from ..emulators.openai_emu import OpenAIEmulator

    with OpenAIEmulator(api_key=OPENAI_KEY, dialect="azure") as azure:
        world = make_world(tmp_path, azure, github_emu, monkeypatch)
        monkeypatch.delenv("OPENAI_BASE_URL")
        world.configure(f"provider:\n  name: azure\n  azure_endpoint: {azure.base_url}\n")
        yield world


def test_an_azure_deployment_needs_a_price_while_the_cost_limit_is_on(azure_world, capsys):
    """A deployment's name is free-form and has no list price: exit 3 until priced (or no cost limit)."""
    azure_world.configure("model: review-batch\n")
    assert azure_world.submit() == 3
    assert one_line(capsys).startswith("over budget: .github/batch-review.yml: model: 'review-batch' has no known")
    nothing_happened(azure_world)
    azure_world.configure("prices:\n  review-batch: {input: 2.5, output: 10}\n")
    assert azure_world.submit() == 0
    (batch,) = azure_world.openai.batches.values()
    assert {x["body"]["model"] for x in azure_world.openai.lines(batch["input_file_id"])} == {"review-batch"}


def test_an_azure_deployment_named_like_claude_is_not_priced_as_claude(azure_world, capsys):
    azure_world.configure("model: claude-sonnet-4-5\n")
    assert azure_world.submit("--dry-run") == 2
    line = one_line(capsys)
    assert "provider.name is azure (in .github/batch-review.yml), which sends every request to your Azure OpenAI " \
           "deployments; set provider.name: anthropic" in line
    assert line.endswith("; if one of your deployments runs it under this name, price it under prices: to send "
                         "it there")
    azure_world.configure("prices:\n  claude-sonnet-4-5: {input: 2.5, output: 10}\n")
    assert azure_world.submit("--dry-run") == 0


def test_a_priced_routing_rule_sends_its_files_to_its_model(world):
    """The check looks at every routed model, and a routed model that passes is really used."""
    world.configure("routing:\n  - model: gpt-5-nano\n    paths: ['util.py']\n")
    assert world.submit() == 0
    sent = {line["body"]["model"] for b in world.openai.batches.values() for line in world.openai.lines(b["input_file_id"])}
    assert sent == {"gpt-5-mini", "gpt-5-nano"}
    requests = json.loads(world.manifests()[0].read_text())["requests"].values()
    assert {r["model"] for r in requests if "util.py" in paths_of(r)} == {"gpt-5-nano"}
