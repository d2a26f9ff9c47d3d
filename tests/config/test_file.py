"""config.py: defaults equal config.example.yml, and every bad input is one exact line."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from batch_review.config.models import Config, apply_overrides, from_mapping, json_schema, load_config
from batch_review.core.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, text: str | bytes) -> Path:
    path = tmp_path / "batch-review.yml"
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def test_the_documented_example_is_exactly_the_defaults():
    assert load_config(ROOT / "config.example.yml") == Config()


def test_missing_file_gives_defaults_unless_required(tmp_path):
    assert load_config(tmp_path / "absent.yml") == Config()
    with pytest.raises(ConfigError, match="absent.yml: no such file"):
        load_config(tmp_path / "absent.yml", required=True)
    assert load_config(write(tmp_path, "")) == Config()
    assert load_config(write(tmp_path, "# only a comment\n")) == Config()


@pytest.mark.parametrize(("text", "message"), [
    ("budgett: {}\n", "budgett: unknown key (did you mean 'budget'?); allowed: model, endpoint, "
                      "max_output_tokens, reasoning_effort, temperature, instructions, path_instructions, files, "
                      "context_lines, max_input_tokens, request_unit, max_description_chars, targets, budget, "
                      "output, verify, artifacts, dismissals, prices, provider, routing, incremental, rules_files"),
    ("output:\n  mode: reviews\n", "output.mode: 'reviews' is not allowed; allowed: review, check, both"),
    ("endpoint: /v1/completions\n",
     "endpoint: '/v1/completions' is not allowed; allowed: /v1/chat/completions, /v1/responses"),
    ("max_output_tokens: yes\n", "max_output_tokens: must be a whole number, not a boolean; allowed: 1 to 1000000"),
    ("max_output_tokens: '100'\n",
     "max_output_tokens: must be a whole number, not the string '100'; allowed: 1 to 1000000"),
    ("context_lines: 2\n", "context_lines: 2 is out of range; allowed: 3 to 100"),
    ("temperature: 3\n", "temperature: 3 is out of range; allowed: 0 to 2, or null"),
    ("files:\n  exclude: ['ok', '']\n", "files.exclude[1]: must be a non-empty string, not the string ''"),
    ("files:\n  include: 'src/**'\n", "files.include: must be a list of strings, not the string 'src/**'"),
    ("files:\n  bogus: 1\n", "files.bogus: unknown key; allowed: include, exclude, default_excludes, max_file_bytes"),
    ("targets:\n  branches:\n    - base: main\n", "targets.branches[0].head: must be a string, not null"),
    ("budget:\n  on_exceed: always\n", "budget.on_exceed: 'always' is not allowed; allowed: skip, fit"),
    ("budget:\n  max_cost_usd: -1\n", "budget.max_cost_usd: -1 is out of range; allowed: 0 or more, or null"),
    ("budget:\n  max_enqueued_tokens: 500\n",
     "budget.max_enqueued_tokens: 500 is out of range; allowed: 1000 to 100000000000, or null"),
    ("budget:\n  max_enqueued_tokens: '2M'\n",
     "budget.max_enqueued_tokens: must be a whole number, not the string '2M'; allowed: 1000 to 100000000000, or null"),
    ("budget:\n  max_enqueued_tokens: 8000\n",
     "budget.max_enqueued_tokens: is 8,000, below max_input_tokens (16,000): one request could fill the queue; "
     "allowed: max_input_tokens or more, or null"),
    ("output:\n  fail_on: severe\n",
     "output.fail_on: 'severe' is not allowed; allowed: info, low, medium, high, critical, null"),
    ("artifacts:\n  prefix: 'has space'\n",
     "artifacts.prefix: 'has space' is not a valid artifact name prefix; allowed: 1 to 64 letters, digits, "
     "'.', '_' or '-'"),
    ("prices:\n  my-model: {input: 1}\n", "prices.my-model: needs input and output (US dollars per million tokens)"),
    ("provider:\n  base_url: ftp://x\n", "provider.base_url: 'ftp://x' is not an http(s) URL"),
    ("model: ''\n", "model: must not be empty"),
    ("path_instructions:\n  - path: 'src/**'\n", "path_instructions[0].instructions: must be a string, not null"),
    ("- a\n- b\n", "(top level): must be a mapping, not a list"),
    # the repository's rules files (issue 20 item 3)
    ("rules_files:\n  add: [../outside.md]\n", "rules_files.add[0]: '../outside.md' is not a path inside the "
     "repository; allowed: a path from the repository's root, such as docs/REVIEW.md"),
    ("rules_files:\n  add: [/etc/passwd]\n", "rules_files.add[0]: '/etc/passwd' is not a path inside the "
     "repository; allowed: a path from the repository's root, such as docs/REVIEW.md"),
    ("rules_files:\n  add: ['docs//x.md']\n", "rules_files.add[0]: 'docs//x.md' is not a path inside the "
     "repository; allowed: a path from the repository's root, such as docs/REVIEW.md"),
    ("rules_files:\n  max_tokens: -1\n", "rules_files.max_tokens: -1 is out of range; allowed: 0 to 100000"),
    ("rules_files:\n  remove: ['']\n", "rules_files.remove[0]: must be a non-empty string, not the string ''"),
    ("rules_files:\n  enabled: 'no'\n", "rules_files.enabled: must be true or false, not the string 'no'"),
    ("rules_files:\n  ad: []\n", "rules_files.ad: unknown key (did you mean 'add'?); allowed: enabled, add, remove, "
     "max_tokens"),
])
def test_bad_values_are_one_line_naming_file_key_and_allowed(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as exc:
        load_config(path)
    assert str(exc.value) == f"{path}: {message}"
    assert "\n" not in str(exc.value)


@pytest.mark.parametrize(("text", "message"), [
    ("model: a\nmodel: b\n", "line 2, column 1: duplicate key 'model'"),
    ("a: &x [1]\nb: *x\n", "line 2, column 4: aliases (*name) are not allowed in this file"),
    ("model: [unclosed\n", "line 2, column 1: expected ',' or ']', but got '<stream end>'"),
    ("x: !!python/object:os.system {}\n", "line 1, column 4: could not determine a constructor for the tag "
                                          "'tag:yaml.org,2002:python/object:os.system'"),
])
def test_yaml_problems_are_one_line_with_position(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as exc:
        load_config(path)
    assert str(exc.value) == f"{path}: {message}"


def test_billion_laughs_fails_fast(tmp_path):
    bomb = "a: &a ['x','x','x','x','x','x','x','x','x']\n" + "".join(
        f"{c}: &{c} [*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p}]\n" for p, c in zip("abcdefgh", "bcdefghi", strict=True))
    with pytest.raises(ConfigError, match="aliases"):
        load_config(write(tmp_path, bomb))


def test_not_utf8_and_too_large(tmp_path):
    path = write(tmp_path, b"model: caf\xe9\n")
    with pytest.raises(ConfigError) as exc:
        load_config(path)
    assert str(exc.value) == f"{path}: not valid UTF-8 (byte 10)"
    big = write(tmp_path, "# " + "x" * (1024 * 1024) + "\n")
    with pytest.raises(ConfigError, match="too large for a configuration file"):
        load_config(big)


def test_glob_semantics_are_gitignore(tmp_path):
    cfg = load_config(write(tmp_path, "files:\n  include: ['src/', '*.md', '!docs/internal.md', '/top.py']\n"
                                      "  exclude: ['**/tests/**']\n"))
    check = cfg.files.is_reviewed
    assert check("src/a/b.py") == (True, None)
    assert check("docs/guide.md") == (True, None)
    assert check("docs/internal.md") == (False, "not in files.include")
    assert check("top.py") == (True, None) and check("sub/top.py") == (False, "not in files.include")
    assert check("src/pkg/tests/test_x.py") == (False, "excluded by files.exclude")


@pytest.mark.parametrize(("path", "reason"), [
    ("frontend/package-lock.json", "lock file"), ("poetry.lock", "lock file"), ("go.sum", "lock file"),
    ("vendor/github.com/x/y.go", "vendored code"), ("web/node_modules/a/index.js", "vendored code"),
    ("static/app.min.js", "generated file"), ("api/service_pb2.py", "generated file"),
    ("logo.png", "binary or media file"), ("lib/native.so", "binary or media file"),
])
def test_default_excludes_with_reasons(path, reason):
    assert Config().files.is_reviewed(path) == (False, f"excluded by default: {reason}")
    assert load_config(None).files.is_reviewed("src/main.py") == (True, None)


def test_default_excludes_can_be_turned_off(tmp_path):
    cfg = load_config(write(tmp_path, "files:\n  default_excludes: false\n"))
    assert cfg.files.is_reviewed("poetry.lock") == (True, None)


def test_path_instructions_in_order(tmp_path):
    cfg = load_config(write(tmp_path, "path_instructions:\n  - {path: 'migrations/**', instructions: 'Rollback?'}\n"
                                      "  - {path: '*.sql', instructions: 'Indexes?'}\n"))
    assert cfg.path_instructions_for("migrations/001.sql") == ("Rollback?", "Indexes?")
    assert cfg.path_instructions_for("app.py") == ()


def test_overrides():
    assert apply_overrides(Config(), model="gpt-5").model == "gpt-5"
    with pytest.raises(ConfigError, match="--model: must not be empty"):
        apply_overrides(Config(), model=" ")


def test_routing_rules(tmp_path):
    cfg = load_config(write(tmp_path, "routing:\n  - {model: small, max_changed_lines: 10}\n"
                                      "  - {model: big, paths: ['src/pay/**']}\n"))
    assert cfg.model_for("docs/a.md", 3) == "small"
    assert cfg.model_for("src/pay/x.py", 50) == "big"
    assert cfg.model_for("src/other.py", 50) == cfg.model == "gpt-5-mini"
    assert cfg.routing_needs_line_counts
    with pytest.raises(ConfigError) as exc:
        load_config(write(tmp_path, "routing:\n  - {model: small}\n"))
    assert str(exc.value).endswith("routing[0]: needs max_changed_lines or paths (a rule without either would "
                                   "take every file)")


# --- the file may come from a pull request's branch: what an attacker could write -----------------------

ALLOWED_TOP = ("model, endpoint, max_output_tokens, reasoning_effort, temperature, instructions, path_instructions, "
               "files, context_lines, max_input_tokens, request_unit, max_description_chars, targets, budget, output, "
               "verify, artifacts, dismissals, prices, provider, routing, incremental, rules_files")


@pytest.mark.parametrize(("text", "message"), [
    # a key that is a list would crash a set of seen keys (a traceback instead of a line)
    ("? [a, b]\n: 1\n", "line 1, column 3: a key must be a plain word, not a list or a mapping"),
    ("? {a: 1}\n: 1\n", "line 1, column 3: a key must be a plain word, not a list or a mapping"),
    # nesting without aliases: PyYAML's composer recurses once per level (RecursionError)
    ("model: " + "[" * 100_000 + "\n", "line 1, column 27: nested deeper than 20 levels"),
    # Python refuses to convert an integer of more than 4,300 digits (ValueError)
    ("max_input_tokens: " + "9" * 5_000 + "\n", "line 1, column 19: a number of 5,000 characters is too long"),
    # tags beyond JSON's types: an unordered set for ordered globs, bytes
    ("files:\n  include: !!set {a, b}\n",
     "line 2, column 12: could not determine a constructor for the tag 'tag:yaml.org,2002:set'"),
    ("model: !!binary aGVsbG8=\n",
     "line 1, column 8: could not determine a constructor for the tag 'tag:yaml.org,2002:binary'"),
    # keys and values that are not plain words come out escaped and clipped, on one line
    ("1: x\n", f"1: unknown key; allowed: {ALLOWED_TOP}"),
    ('"x\\n::error::owned": 1\n', f"x\\n::error::owned: unknown key; allowed: {ALLOWED_TOP}"),
    ("? " + "k" * 5000 + "\n: 1\n", "k" * 77 + f"...: unknown key; allowed: {ALLOWED_TOP}"),
    ("output:\n  mode: '" + "x" * 5000 + "'\n", "output.mode: '" + "x" * 76 + "... is not allowed; allowed: review, "
                                                "check, both"),
    ('output:\n  bot_login: "a\\n::add-mask::b"\n', "output.bot_login: 'a\\n::add-mask::b' is not a GitHub login; "
                                                     "allowed: a user name, or an app's bot login such as my-app[bot]"),
    ("just words\n", "(top level): must be a mapping, not the string 'just words'"),
    ("prices:\n  1: {input: 1, output: 2}\n", "prices.1: the key must be a string, not a number"),
    ("temperature: .nan\n", "temperature: nan is out of range; allowed: 0 to 2, or null"),
    ("budget:\n  max_cost_usd: .inf\n", "budget.max_cost_usd: inf is out of range; allowed: 0 or more, or null"),
    ("artifacts:\n  workflows: ['.github/workflows/../../x.yml']\n",
     "artifacts.workflows[0]: '.github/workflows/../../x.yml' is not a workflow file of this repository; "
     "allowed: a path like .github/workflows/NAME.yml"),
    ("artifacts:\n  workflows: []\n", "artifacts.workflows: is empty: no artifact could be trusted; allowed: the "
                                      "paths of the submit and poll workflow files"),
    ("provider:\n  azure_endpoint: https://x.openai.azure.com\n",
     "provider.azure_endpoint: is only used with provider.name azure, not openai; allowed: null"),
    ("routing: [7]\n", "routing[0]: must be a mapping with model and max_changed_lines and paths"),
    ("targets:\n  branches: 3\n", "targets.branches: must be a list of {base, head}, not a number"),
    ("files:\n  exclude: ['!']\n", "files.exclude[0]: invalid glob '!': Invalid git pattern: '!'; allowed: "
                                     "gitignore patterns"),
    ("files:\n  exclude: ['[z-a]']\n", "files.exclude[0]: invalid glob '[z-a]': bad character range z-a at position "
                                         "10; allowed: gitignore patterns"),
])
def test_hostile_files_are_one_line_never_a_traceback(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as exc:
        load_config(path)
    line = str(exc.value)
    assert "\n" not in line and "\r" not in line and len(line) < 600
    assert line == f"{path}: {message}"


def test_values_yaml_would_turn_into_dates_stay_strings_and_sections_may_be_empty(tmp_path):
    cfg = load_config(write(tmp_path, "provider:\n  api_version: 2024-10-21\nfiles:\nbudget: null\n"))
    assert cfg.provider.api_version == "2024-10-21"
    assert cfg.files == Config().files and cfg.budget == Config().budget


def test_anthropic_is_a_provider_and_base_url_is_its_gateway(tmp_path):
    cfg = load_config(write(tmp_path, "provider:\n  name: anthropic\n  base_url: https://gateway.example/v1\n"))
    assert (cfg.provider.name, cfg.provider.base_url) == ("anthropic", "https://gateway.example/v1")
    assert cfg.provider.batch_url("/v1/chat/completions") == "/v1/chat/completions"
    azure = load_config(write(tmp_path, "provider:\n  name: azure\n  azure_endpoint: https://a.openai.azure.com\n"))
    assert azure.provider.batch_url("/v1/chat/completions") == "/chat/completions"


def test_the_configuration_cannot_be_changed_after_loading():
    cfg = Config()
    with pytest.raises(ValidationError):
        cfg.model = "other"  # type: ignore[misc]
    with pytest.raises(ValidationError):
        cfg.output.mode = "check"  # type: ignore[misc]


KEY_NAMES = sorted({k for d in [json_schema(), *json_schema()["$defs"].values()] for k in d.get("properties", {})})
SCALARS = (st.none() | st.booleans() | st.integers(-10**30, 10**30) | st.floats(allow_nan=True)
           | st.text(max_size=20) | st.sampled_from(["review", "azure", "anthropic", "https://x", "**", "!", "[z-a]"]))
KEYS = st.sampled_from(KEY_NAMES) | st.text(max_size=10) | st.integers(-3, 3) | st.booleans() | st.none()
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=5),
                      max_leaves=30)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.dictionaries(KEYS, VALUES, max_size=6) | VALUES)
def test_any_parsed_yaml_is_a_config_or_one_line_naming_the_file(data):
    """Whatever a YAML file parses to, loading it gives a Config or a ConfigError of one printable line."""
    try:
        cfg = from_mapping(data, "c.yml")
    except ConfigError as exc:
        line = str(exc)
        assert line.startswith("c.yml: ") and line.isprintable() and len(line) < 1000, line
    else:
        assert isinstance(cfg, Config)
