"""The published JSON Schema (schema/batch-review.schema.json): current with the models, the documented example
valid under it and under the models, editors pointed at it, and the schema refusing what the models refuse."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import jsonschema
import pytest
import yaml

from batch_review import __version__
from batch_review.config.models import SCHEMA_URL, Config, from_mapping, json_schema, load_config
from batch_review.core.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "config.example.yml"
SCHEMA = ROOT / "schema" / "batch-review.schema.json"


def tool():
    spec = importlib.util.spec_from_file_location("config_schema", ROOT / "tools" / "config_schema.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def validator():
    schema = json.loads(SCHEMA.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_the_committed_schema_is_what_the_models_and_the_example_give():
    assert SCHEMA.read_text() == tool().build(), "run: python tools/config_schema.py"


def test_the_example_is_valid_under_the_schema_and_is_the_defaults(validator):
    data = yaml.safe_load(EXAMPLE.read_text())
    assert list(validator.iter_errors(data)) == []
    assert from_mapping(data, "example") == Config() == load_config(EXAMPLE)


def uncommented_examples(text: str) -> str:
    """The example with its commented-out entries (`#  - model: ...` under `routing: []`) put in."""
    out = []
    for line in text.splitlines():
        match = re.fullmatch(r"( *)#  (.*)", line)  # prose comments have one space after the hash
        if match is None:
            out.append(line)
            continue
        if out[-1].endswith((": []", ": {}")):
            out[-1] = out[-1][:-4] + ":"
        out.append(match.group(1) + "  " + re.sub(r"\s+# .*$", "", match.group(2)))
    return "\n".join(out) + "\n"


def test_the_commented_out_examples_are_valid_too(validator):
    data = yaml.safe_load(uncommented_examples(EXAMPLE.read_text()))
    assert [r["model"] for r in data["routing"]] == ["gpt-5-nano", "gpt-5"]
    assert data["path_instructions"][0]["path"] == "migrations/**"
    assert data["targets"]["branches"] == [{"base": "main", "head": "release/2.0"}]
    assert set(data["prices"]["ft:gpt-4.1-mini:acme::abc123"]) == {"input", "cached_input", "output"}
    assert list(validator.iter_errors(data)) == []
    cfg = from_mapping(data, "example")
    assert cfg.model_for("src/payments/a.py", 100) == "gpt-5" and cfg.prices["ft:gpt-4.1-mini:acme::abc123"].input == 0.8


def test_every_documented_key_is_described_in_the_schema():
    t = tool()
    keys = t.documented_keys(EXAMPLE.read_text())
    assert ("output", "bot_login") in keys and ("provider", "name") in keys and len(keys) > 40
    schema = json.loads(SCHEMA.read_text())
    for path, text in keys.items():
        node = schema
        for part in path:
            node = t._properties(schema, node)[part]
        assert node["description"] == text, path


def test_editors_are_pointed_at_the_schema_of_this_release():
    first = EXAMPLE.read_text().splitlines()[0]
    assert first == f"# yaml-language-server: $schema={SCHEMA_URL}"
    assert json_schema()["$id"] == SCHEMA_URL and f"/v{__version__}/schema/batch-review.schema.json" in SCHEMA_URL
    assert "yaml-language-server: $schema=" in (ROOT / "README.md").read_text()


# Bad configurations the models refuse; the schema refuses them too, so an editor flags them while typing.
REFUSED_BY_BOTH = [
    "budgett: {}\n", "output:\n  mode: reviews\n", "max_output_tokens: yes\n", "max_output_tokens: '100'\n",
    "context_lines: 2\n", "temperature: 3\n", "files:\n  exclude: ['ok', '']\n", "files:\n  include: 'src/**'\n",
    "targets:\n  branches:\n    - base: main\n", "budget:\n  max_cost_usd: -1\n", "artifacts:\n  prefix: 'has space'\n",
    "prices:\n  my-model: {input: 1}\n", "provider:\n  base_url: ftp://x\n", "model: ''\n", "model: '  '\n",
    "- a\n- b\n", "routing:\n  - {model: small}\n", "provider:\n  azure_endpoint: https://x.example\n",
    "provider:\n  name: google\n", "output:\n  bot_login: 'evil user'\n", "artifacts:\n  workflows: []\n",
    "artifacts:\n  workflows: ['.github/workflows/../../etc/x.yml']\n", "prices: [1, 2]\n",
    "output:\n  max_resubmits: -1\n", "max_input_tokens: 99999999999999999999\n",
]


@pytest.mark.parametrize("text", REFUSED_BY_BOTH)
def test_the_schema_refuses_what_the_models_refuse(validator, text):
    data = yaml.safe_load(text)
    with pytest.raises(ConfigError):
        from_mapping(data, "c.yml")
    assert not validator.is_valid(data)


def test_azure_and_anthropic_are_valid_under_both():
    for text in ("provider:\n  name: azure\n  azure_endpoint: https://acme.openai.azure.com\n",
                 "provider:\n  name: anthropic\n  base_url: https://gateway.example/anthropic\n"):
        data = yaml.safe_load(text)
        assert from_mapping(data, "c.yml").provider.name in ("azure", "anthropic")
        assert list(jsonschema.Draft202012Validator(json_schema()).iter_errors(data)) == []
