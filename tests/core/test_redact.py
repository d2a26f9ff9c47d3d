"""redact.url_origin and url_secrets: what of a base URL may be written down, and what is masked (issue
21, item 6). The attacker reads the manifest artifact and the log; the URL's owner put a credential in its
userinfo, path or query."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from batch_review.cli import clients, runtime
from batch_review.config.models import load_config
from batch_review.core.redact import MIN_SECRET, redact, url_origin, url_secrets
from batch_review.ledger.manifest import provider_record
from batch_review.poll.resubmit import derive_manifest

from ..ledger.test_manifest import _pinned

ISSUE_URL = "https://user:sk-secret@gateway.example/v1?api-key=abc"


@pytest.mark.parametrize(("url", "origin"), [
    (ISSUE_URL, "https://gateway.example"),
    ("https://api.openai.com/v1", "https://api.openai.com"),
    ("HTTPS://Gateway.Example:8443/a/b?c=d#e", "https://gateway.example:8443"),
    ("http://[::1]:8080/v1", "http://[::1]:8080"),
    ("https://x.openai.azure.com/", "https://x.openai.azure.com"),
    ("gateway.example/v1", ""),  # no scheme: nothing is recorded rather than a guess
    ("http://h:99999/v1", ""),  # an unreadable port
    ("", ""),
])
def test_the_origin_is_scheme_host_and_port_only(url, origin):
    assert url_origin(url) == origin


def test_the_issues_url_gives_every_credential_part():
    found = url_secrets(ISSUE_URL)
    assert {"user:sk-secret", "sk-secret", "api-key=abc", ISSUE_URL} <= set(found)
    assert "abc" not in found and "user" not in found  # shorter than MIN_SECRET: masking them blanks words
    text = f"POST {ISSUE_URL}/files failed; retry with key sk-secret (api-key=abc)"
    for secret in found:
        text = text.replace(secret, "[redacted]")
    assert "sk-secret" not in text and "api-key=abc" not in text


@pytest.mark.parametrize(("url", "secret"), [
    ("https://gateway.ai.cloudflare.com/v1/0123456789abcdef0123456789abcdef/my-gateway/openai",
     "0123456789abcdef0123456789abcdef"),
    ("https://h.example/proxy/sk%2Dabcdefgh/v1", "sk-abcdefgh"),  # percent-encoded: both forms
    ("https://h.example/proxy/sk%2Dabcdefgh/v1", "sk%2Dabcdefgh"),
    ("https://h.example/v1?token=tok_123456", "tok_123456"),
    ("https://h.example/v1?x=aVeryLongOpaqueValue42", "aVeryLongOpaqueValue42"),
    ("https://alice%40corp:p%40ssw0rd!@h.example/v1", "p@ssw0rd!"),
])
def test_path_and_query_credentials_are_found(url, secret):
    assert secret in url_secrets(url)


@pytest.mark.parametrize("plain", ["openai", "v1", "v1beta", "2024-10-21", "2024-10-01-preview",
                                   "deployments"])
def test_names_of_services_and_versions_are_not_secrets(plain):
    """Masking them would blank ordinary words in every log line."""
    url = f"https://h.example/{plain}/openai/v1?api-version=2024-10-21"
    assert plain not in url_secrets(url) or len(plain) < MIN_SECRET


@given(st.text(max_size=80))
def test_any_text_is_handled(text):
    origin = url_origin(text)
    assert origin == "" or origin.count("/") == 2 and "@" not in origin and "?" not in origin
    assert all(len(s) >= MIN_SECRET for s in url_secrets(text))


def test_the_manifest_records_the_origin_also_when_a_resubmission_copies_an_old_one():
    """A manifest the previous release wrote holds the whole URL; what derives from it does not."""
    assert provider_record({"name": "openai", "base_url": ISSUE_URL}) == {"name": "openai",
                                                                          "base_url": "https://gateway.example"}
    assert provider_record({"name": "openai"}) == {"name": "openai"}
    old = _pinned(2)
    old.provider = {"name": "openai", "base_url": ISSUE_URL}
    derived = derive_manifest(old, list(old.requests))
    assert derived.provider == {"name": "openai", "base_url": "https://gateway.example"}


@pytest.mark.parametrize(("config", "variable"), [
    ("", "OPENAI_BASE_URL"),
    ("provider:\n  name: anthropic\nmodel: claude-haiku-4-5\n", "ANTHROPIC_BASE_URL"),
    ("provider:\n  name: azure\n", "AZURE_OPENAI_ENDPOINT"),
])
def test_every_provider_masks_its_base_url_credentials(tmp_path, monkeypatch, capsys, config, variable):
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    path = tmp_path / "c.yml"
    path.write_text(config or "model: gpt-5-mini\n")
    cfg = load_config(str(path), required=True)
    url = "https://ops:Zk9-gw-credential-1@gw.example/acct-7f3a9c2e/v1?subscription-key=Q7x9Lm2Pq8"
    settings = runtime.Settings.from_environ({variable: url})
    assert clients.provider_base_url(cfg, settings) == url  # the client still gets the whole URL
    masks = capsys.readouterr().out.splitlines()
    for part in ("Zk9-gw-credential-1", "acct-7f3a9c2e", "Q7x9Lm2Pq8", "subscription-key=Q7x9Lm2Pq8"):
        assert f"::add-mask::{part}" in masks
        assert part not in redact(f"calling {url} failed")
