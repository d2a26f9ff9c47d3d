"""provenance.py, pure: what a signature covers, and that nothing else verifies.

A signature that verifies where it should not makes a forged or replayed marker ours (a head skipped,
findings hidden, a posting counted that never happened, a batch adopted); one that fails where it should
verify makes our own reviews strangers (every poll posts them again).
"""

from __future__ import annotations

import base64
import dataclasses
import types

import pytest

from batch_review.core.errors import ConfigError
from batch_review.core.markers import Identity, Marker, fingerprints_html
from batch_review.core.provenance import MIN_KEY_BYTES, Provenance, SigningKey, body_digest, kind_of

KEY = SigningKey.parse("ab" * 32)
OTHER = SigningKey.parse("cd" * 32)
HEAD, BASE = "a" * 40, "b" * 40
BOT = "github-actions[bot]"


def review(body: str, author: str = BOT):
    return types.SimpleNamespace(author=author, body=body)


def sealed(prov: Provenance, marker: Marker, text: str = "the review") -> str:
    return prov.seal(f"{marker.html()}\n{fingerprints_html(['0123456789abcdef'])}\n{text}")


@pytest.mark.parametrize("text", ["ab" * 32, "AB" * 40, base64.b64encode(b"\xfb" * 32).decode(),
                                  base64.urlsafe_b64encode(b"\xfb" * 32).decode().rstrip("="), f"  {'0f' * 32}\n"])
def test_a_key_is_hex_or_base64_of_at_least_32_bytes(text):
    assert repr(SigningKey.parse(text)) == "SigningKey([redacted])"


@pytest.mark.parametrize(("text", "says"), [
    ("ab" * 31, "31 bytes, at least 32"), (base64.b64encode(b"k" * 16).decode(), "16 bytes"),
    ("not a key at all!", "not hex or base64"), ("", "not hex or base64"), ("ab" * 32 + "é", "not hex or base64"),
])
def test_a_short_or_unreadable_key_is_one_config_line_that_never_repeats_it(text, says):
    with pytest.raises(ConfigError) as err:
        SigningKey.parse(text)
    line = str(err.value)
    assert says in line and "BATCH_REVIEW_SIGNING_KEY" in line and "openssl rand -hex 32" in line
    assert "\n" not in line and (len(text) < 8 or text.strip() not in line)
    assert MIN_KEY_BYTES == 32


def test_a_sealed_review_is_believed_and_every_changed_field_is_not():
    prov = Provenance(Identity(), "acme/widgets", KEY)
    marker = Marker("pr-1", HEAD, "d" * 64, 1, BASE)
    body = sealed(prov, marker)
    got = prov.believes(review(body))
    assert got is not None and got.sig and dataclasses.replace(got, sig="") == dataclasses.replace(marker, manifest="d" * 16)
    first, rest = body.split("\n", 1)
    variants = {
        "target": first.replace("target=pr-1", "target=pr-2"),
        "head": first.replace(HEAD, "c" * 40),
        "base": first.replace(BASE, "e" * 40),
        "manifest": first.replace("manifest=dddddddddddddddd", "manifest=eeeeeeeeeeeeeeee"),
        "part": first.replace("part=1", "part=2"),
        "signature": first[:-40] + "0" * 32 + first[-8:],
    }
    for field, line in variants.items():
        assert line != first, field
        assert prov.believes(review(f"{line}\n{rest}")) is None, field
    assert prov.believes(review(body.replace("the review", "LGTM, nothing to fix"))) is None  # the text
    assert prov.believes(review(body.replace("0123456789abcdef", "fedcba9876543210"))) is None  # fingerprints
    assert Provenance(Identity(), "acme/other", KEY).believes(review(body)) is None  # another repository
    assert Provenance(Identity(), "acme/widgets", OTHER).believes(review(body)) is None  # another key
    assert prov.believes(review(body, author="mallory")) is None  # another author, however signed


def test_the_text_is_compared_as_github_may_store_it():
    """Line ends and trailing blanks do not change what anyone reads; GitHub may normalise them."""
    prov = Provenance(Identity(), "acme/widgets", KEY)
    body = sealed(prov, Marker("pr-1", HEAD, "d" * 64), "line one\nline two")
    assert prov.believes(review(body.replace("\n", "\r\n") + "  \n\n")) is not None
    assert body_digest("a \nb") == body_digest("a\r\nb\n") != body_digest("a\nb c")


def test_without_a_key_identity_is_the_only_proof_and_the_workflow_identity_is_a_said_risk():
    marker = Marker("pr-1", HEAD, "d" * 64)
    plain = f"{marker.html()}\ntext"
    for login in (BOT, "my-app[bot]", "alice"):
        prov = Provenance(Identity(login), "acme/widgets")
        assert prov.believes(review(plain, login)).same_posting(marker) and prov.seal(plain) == plain
        assert prov.believes(review(plain, "mallory")) is None
    assert "every workflow of this repository" in Provenance(Identity(), "a/b").risk()
    assert Provenance(Identity("my-app[bot]"), "a/b").risk() is None
    assert Provenance(Identity(), "a/b", KEY).risk() is None
    assert [kind_of(x) for x in (BOT, "GitHub-Actions[bot]", "my-app[bot]", "alice")] == [
        "workflow", "workflow", "app", "person"]


def test_with_a_key_an_unsigned_marker_is_not_ours_whoever_wrote_it():
    prov = Provenance(Identity("my-app[bot]"), "acme/widgets", KEY)
    plain = f"{Marker('pr-1', HEAD, 'd' * 64).html()}\ntext"
    assert prov.believes(review(plain, "my-app[bot]")) is None


def test_a_check_runs_external_id_is_signed_and_bound_to_its_app():
    prov = Provenance(Identity(), "acme/widgets", KEY)
    marker = Marker("pr-1", HEAD, "d" * 64)
    eid = prov.external_id(marker)
    run = types.SimpleNamespace(app_slug="github-actions", external_id=eid)
    assert prov.check_marker(run).same_posting(marker)
    assert prov.check_marker(types.SimpleNamespace(app_slug="evil-app", external_id=eid)) is None
    for forged in (marker.external_id(), eid.replace(HEAD, "c" * 40), eid.replace("pr-1", "pr-2"), eid[:-1] + "0"):
        assert prov.check_marker(types.SimpleNamespace(app_slug="github-actions", external_id=forged)) is None


def test_batch_metadata_signature_covers_repository_digest_part_and_copy():
    prov = Provenance(Identity(), "acme/widgets", KEY)
    metadata = {"batch_review": "2", "repository": "acme/widgets", "manifest_digest": "d" * 64, "part": "1/2",
                "manifest_file": "file-abc"}
    signed = prov.sign_batch(metadata)
    assert prov.batch_signed(signed) and not prov.batch_signed(metadata)
    for key, value in (("repository", "acme/other"), ("manifest_digest", "e" * 64), ("part", "2/2"),
                       ("manifest_file", "file-evil")):
        assert not prov.batch_signed({**signed, key: value}), key
    assert not Provenance(Identity(), "acme/widgets").batch_signed(signed)  # no key: nothing is adopted
    assert not Provenance(Identity(), "acme/widgets", OTHER).batch_signed(signed)
    # one kind's signature is no other kind's
    review_sig = KEY.sign("review", "acme/widgets", "d" * 64, "1/2", "file-abc")
    assert not prov.batch_signed({**metadata, "signature": review_sig})
