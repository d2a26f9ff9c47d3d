"""Provenance: believe what our own trusted run wrote, proven, and nothing that merely looks like it (pure).

Everything batch-review reads back to decide what to do was written somewhere anyone might also write:
review markers (submit skips a head, poll counts a posting as done, fingerprints hide repeated findings),
check runs' external_ids, and the metadata of batches on the provider (adoption of orphans). Two proofs:

- **Identity.** The author of a review is GitHub's word. It proves the writer only when no one else holds
  the identity: an App's `<slug>[bot]` whose key lives in a deployment environment of the default branch.
  `github-actions[bot]` is every workflow of the repository, a branch's `pull_request` run included.
- **Signature.** With a signing key (`BATCH_REVIEW_SIGNING_KEY`, a secret of that same environment), every
  marker, external_id and batch metadata we write carries an HMAC-SHA256 (truncated to 128 bits) over what
  makes it ours, and with a key set nothing without a valid one is believed, whoever wrote it.

What a signature covers, so that a copied one proves nothing new:
- a review marker: repository, target, head, base, manifest digest (as the marker names it), part, and a
  digest of the rest of the body (the fingerprints line and the visible text, line ends and trailing
  blanks normalised). A marker copied onto another pull request, head or part fails; copied with another
  text it fails, so a believed posting is our text, not only our marker;
- a check run's external_id: repository, target, head, manifest digest;
- a batch's metadata: repository, manifest digest, part and the id of the manifest's copy (the copy's
  content is bound through the digest it must hash to).
Each kind is its own message (`["batch-review", kind, ...]` as canonical JSON), so no signature of one
kind verifies as another.

Without a key: an App identity or a personal account is believed on identity; `github-actions[bot]` is
believed as before, with one warning per run (`risk`), and orphan batches are never adopted.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass

from .errors import ConfigError
from .markers import WORKFLOW_LOGIN, Identity, Marker, from_external_id, read_marker, with_signature

KEY_ENV = "BATCH_REVIEW_SIGNING_KEY"
KEY_INPUT = "signing-key"
MIN_KEY_BYTES = 32  # 256 bits: `openssl rand -hex 32`
SIGNATURE_HEX = 32  # 128 bits of HMAC-SHA256
METADATA_KEY = "signature"  # batch metadata key
_HEX = re.compile(r"[0-9a-fA-F]+")
_SIGNATURE = re.compile(r"[0-9a-f]{32}")
_BASE64 = re.compile(r"(?:[A-Za-z0-9+/]+|[A-Za-z0-9_-]+)={0,2}")
_URLSAFE = str.maketrans("-_", "+/")
_BATCH_FIELDS = ("repository", "manifest_digest", "part", "manifest_file")


class SigningKey:
    """The key, kept out of every repr; `parse` is the one place a key's text is read."""

    __slots__ = ("_key",)

    def __init__(self, raw: bytes) -> None:
        if len(raw) < MIN_KEY_BYTES:
            raise ValueError("too short")
        self._key = bytes(raw)

    def __repr__(self) -> str:
        return "SigningKey([redacted])"

    @classmethod
    def parse(cls, text: str, *, source: str = f"{KEY_ENV} (the action's {KEY_INPUT} input)") -> SigningKey:
        """A key written as hex or base64 (standard or URL-safe); a ConfigError line naming `source` if it is
        neither or holds fewer than MIN_KEY_BYTES bytes. The text is never repeated in the message."""
        value = text.strip()
        raw = _decode(value)
        if raw is None:
            raise ConfigError(f"{source}: not hex or base64; generate a key with `openssl rand -hex {MIN_KEY_BYTES}`")
        if len(raw) < MIN_KEY_BYTES:
            raise ConfigError(f"{source}: {len(raw)} bytes, at least {MIN_KEY_BYTES} are needed; generate a key "
                              f"with `openssl rand -hex {MIN_KEY_BYTES}`")
        return cls(raw)

    def sign(self, kind: str, *fields: str) -> str:
        message = json.dumps(["batch-review", kind, *fields], ensure_ascii=False, separators=(",", ":"))
        mac = hmac.new(self._key, message.encode("utf-8", "surrogatepass"), hashlib.sha256)
        return mac.hexdigest()[:SIGNATURE_HEX]

    def verify(self, signature: object, kind: str, *fields: str) -> bool:
        if not isinstance(signature, str) or not _SIGNATURE.fullmatch(signature):
            return False
        return hmac.compare_digest(signature, self.sign(kind, *fields))


def _decode(value: str) -> bytes | None:
    """Hex (an even number of hex digits), else base64 in either alphabet, padding optional; None if neither."""
    if _HEX.fullmatch(value) and len(value) % 2 == 0:
        return bytes.fromhex(value)
    if not _BASE64.fullmatch(value):
        return None
    try:
        return base64.b64decode(value.translate(_URLSAFE).rstrip("=") + "=" * (-len(value.rstrip("=")) % 4),
                                validate=True)
    except (binascii.Error, ValueError):
        return None


def body_digest(text: str) -> str:
    """sha256 of a review's text after its marker line, with line ends and trailing blanks normalised (what
    GitHub might change without changing what anyone reads)."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    normal = "\n".join(line.rstrip() for line in lines).strip("\n")
    return hashlib.sha256(normal.encode("utf-8", "surrogatepass")).hexdigest()


def _split(body: str) -> tuple[str, str]:
    first, _, rest = body.partition("\n")
    return first, rest


def kind_of(login: str) -> str:
    """"workflow" (github-actions[bot], shared by every workflow), "app" (`<slug>[bot]`) or "person"."""
    if login.casefold() == WORKFLOW_LOGIN:
        return "workflow"
    return "app" if login.endswith("[bot]") else "person"


@dataclass(frozen=True)
class Provenance:
    """Who we are (identity), for which repository, and the signing key if this run has one."""

    identity: Identity
    repository: str
    key: SigningKey | None = None

    @property
    def bot(self) -> bool:
        """Our identity is a bot: no person's draft review can be ours."""
        return kind_of(self.identity.login) != "person"

    def risk(self) -> str | None:
        """The one warning line of a run that believes `github-actions[bot]` markers without a key."""
        if self.key is not None or kind_of(self.identity.login) != "workflow":
            return None
        return (f"markers of {WORKFLOW_LOGIN} are believed without proof: every workflow of this repository "
                "posts as that user, a branch's pull_request run included, and could make submit skip a pull "
                f"request or poll hide findings. Fix: set {KEY_ENV} (the action's {KEY_INPUT} input) from a "
                "secret of an environment limited to the default branch, or post as a GitHub App "
                "(docs/security.md)")

    # --- review markers -------------------------------------------------------------------------------

    def _review_fields(self, marker: Marker, rest: str) -> tuple[str, ...]:
        return (self.repository, marker.target, marker.head, marker.base, marker.manifest, str(marker.part),
                body_digest(rest))

    def seal(self, body: str) -> str:
        """A review body we composed, its leading marker signed (unchanged without a key)."""
        marker = read_marker(body)
        if self.key is None or marker is None:
            return body
        first, rest = _split(body)
        signature = self.key.sign("review", *self._review_fields(marker, rest))
        return with_signature(first, signature) + ("\n" + rest if "\n" in body else "")

    def believes(self, review) -> Marker | None:
        """The marker of a review (anything with .author and .body) our own run wrote: our identity, and with
        a key a valid signature over the body; None for anything else."""
        if not self.identity.wrote(getattr(review, "author", None)):
            return None
        body = getattr(review, "body", None) or ""
        marker = read_marker(body)
        if marker is None or self.key is None:
            return marker
        if self.key.verify(marker.sig, "review", *self._review_fields(marker, _split(body)[1])):
            return marker
        return None

    # --- check runs ----------------------------------------------------------------------------------

    def external_id(self, marker: Marker) -> str:
        plain = marker.external_id()
        if self.key is None:
            return plain
        return f"{plain}:{self.key.sign('check', self.repository, marker.target, marker.head, plain.rsplit(':', 1)[1])}"

    def check_marker(self, run) -> Marker | None:
        """The marker of a check run our app created (and with a key, signed); None for anyone else's."""
        if not self.identity.ran(getattr(run, "app_slug", None)):
            return None
        marker = from_external_id(getattr(run, "external_id", None))
        if marker is None or self.key is None:
            return marker
        ok = self.key.verify(marker.sig, "check", self.repository, marker.target, marker.head, marker.manifest)
        return marker if ok else None

    # --- batch metadata ------------------------------------------------------------------------------

    def sign_batch(self, metadata: Mapping[str, str]) -> dict[str, str]:
        """The metadata with our signature added (unchanged without a key)."""
        out = dict(metadata)
        if self.key is not None:
            out[METADATA_KEY] = self.key.sign("batch", *(str(metadata.get(k, "")) for k in _BATCH_FIELDS))
        return out

    def batch_signed(self, metadata: Mapping) -> bool:
        """Whether a batch's metadata carries our valid signature (never without a key)."""
        if self.key is None:
            return False
        fields = [metadata.get(k) for k in _BATCH_FIELDS]
        if not all(isinstance(v, str) and v for v in fields):
            return False
        return self.key.verify(metadata.get(METADATA_KEY), "batch", *fields)
