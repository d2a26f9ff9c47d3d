"""config.py: defaults equal config.example.yml, and every bad input is one exact line."""

from __future__ import annotations

from pathlib import Path

import pytest

from batch_review.config import Config, ConfigError, apply_overrides, load_config

ROOT = Path(__file__).resolve().parents[1]


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
                      "output, artifacts, prices, provider, routing, incremental"),
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
