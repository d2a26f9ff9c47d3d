"""A damaged manifest is reported, never a crash (issue 21, item 5): `Manifest.load` and `from_json` raise
only ManifestError, whatever the bytes or the JSON. The attacker (or a bad disk, a truncated upload, a
hand edit) controls every byte of the artifact: a list where a string belongs, a number of 5,000 digits
(Python's int-string conversion limit raises ValueError when such a number is read or shown), invalid
UTF-8, any JSON type in any field.

A manifest that is accepted must also be readable all the way through: every accessor poll uses works on
it (records, commentable lines, targets, digest, metadata), so nothing further on can raise either.
The checks must name the problem themselves: the last-resort net in `from_json` ("not foreseen") is
never what answers for these inputs.
"""

from __future__ import annotations

import copy
import json
import math

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from batch_review.core.errors import ManifestError
from batch_review.ledger.checks import show, targets_of
from batch_review.ledger.manifest import Manifest

from .test_manifest import _pinned

HUGE = 10**5000  # past Python's 4,300-digit int-string conversion limit
NOT_FORESEEN = "not foreseen"


def rich(version: int) -> dict:
    """A real manifest of each version with every optional field filled in, as submit writes them."""
    doc = _pinned(version).to_json()
    doc["parent"] = "e" * 64
    doc["attempt"] = 1
    doc["skipped"] = {"pr-1": [{"path": "big.bin", "reason": "binary"}]}
    doc["estimate"] = {"requests": 1, "cost": 0.01}
    doc["targets"]["pr-1"]["since"] = "f" * 40
    doc["files"]["pr-1"]["x.py"]["crc"] = [[1, [11, 22, 33, 44, 55]]]
    doc["files"]["pr-1"]["x.py"]["invisible"] = [[2, "\u200b"]]
    doc["targets"]["branches-0123456789ab"] = {
        "kind": "branches", "head_sha": "1" * 40, "base_sha": "2" * 40, "base_ref": "main", "head_ref": "dev",
        "title": "", "author": "", "since": ""}
    return doc


def read_everything(m: Manifest) -> None:
    """What poll reads of an accepted manifest: none of it may raise."""
    assert all(r.target in m.targets for r in m.requests.values())
    for key in m.targets:
        m.requests_for(key)
        m.commentable(key)
        t = m.target(key)
        assert all(isinstance(getattr(t, name), str) for name in (
            "kind", "base_ref", "head_ref", "head_sha", "base_sha", "title", "author", "since", "body"))
        t.label  # noqa: B018 - reads number and refs
    for i in range(len(m.batches)):
        m.batch_metadata(i)
    m.digest()
    json.dumps(m.to_json(), ensure_ascii=False)


def outcome(data: object) -> str:
    """'ok' when the manifest is accepted and readable, else the ManifestError's message."""
    try:
        m = Manifest.from_json(data, source="m.json")
    except ManifestError as exc:
        message = str(exc)
        assert message.startswith("m.json"), message
        assert NOT_FORESEEN not in message, message
        return message
    read_everything(m)
    return "ok"


def places(node: object, at: tuple = ()):
    """Every position (a path of keys and indexes) in a JSON document, the root excepted."""
    if at:
        yield at
    if isinstance(node, dict):
        for k, v in node.items():
            yield from places(v, at + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from places(v, at + (i,))


def replaced(doc: dict, at: tuple, value: object) -> dict:
    out = copy.deepcopy(doc)
    node = out
    for k in at[:-1]:
        node = node[k]
    node[at[-1]] = value
    return out


EVERY_TYPE = [None, True, False, 0, -1, 7, HUGE, -HUGE, 1.5, math.nan, math.inf, "", "x", "a" * 40, [], ["x"],
              [1, 2], [[1, 2]], {}, {"x": 1}, {"path": "x.py"}]


@pytest.mark.parametrize("version", [1, 2])
def test_each_field_replaced_by_each_json_type_is_reported_or_read(version):
    """The mutation corpus, exhaustively: every field of a real manifest replaced by every JSON type (and
    a number past the conversion limit). Before the fix, `requests.*.target` as a list raised TypeError
    (unhashable) and a huge version, attempt or number raised ValueError while the error was worded."""
    doc = rich(version)
    for at in list(places(doc)):
        for value in EVERY_TYPE:
            outcome(replaced(doc, at, value))


NAMED = [
    (("requests", "pr-1:0000:0", "target"), ["pr-1"], "requests.pr-1:0000:0.target: must be a string, not a list"),
    (("requests", "pr-1:0000:0", "target"), {"a": 1}, "target: must be a string, not an object"),
    (("version",), HUGE, "m.json: version: <a number of 5001 digits> is past any number a manifest holds"),
    (("targets", "pr-1", "number"), -HUGE, "targets.pr-1.number: <a number of 5001 digits> is past any"),
    (("batches", 0, "requests"), HUGE, "m.json: batches[0].requests: <a number of 5001 digits> is past any"),
    # a field no check reads: accepted before, and then the digest (json.dumps) raised ValueError on every poll
    (("estimate", "cost"), HUGE, "m.json: estimate.cost: <a number of 5001 digits> is past any"),
    (("files", "pr-1", "x.py", "crc", 0, 1, 2), 2**64, "crc[0][1][2]: 18446744073709551616 is past any"),
    (("attempt",), 2**40, "attempt: 1099511627776 is out of range"),
    (("files", "pr-1", "x.py", "invisible", 0, 0), 0, "files.pr-1.x.py.invisible[0]: 0 is out of range"),
    (("files", "pr-1", "x.py", "invisible", 0, 1), ["\u200b"], "x.py.invisible[0]: must be a string, not a list"),
    (("files", "pr-1", "x.py", "invisible", 0), [2], "x.py.invisible[0]: must be [line, characters]"),
    (("targets", "pr-1", "since"), 0, "since: must be a string, not a number"),
    (("targets", "pr-1", "body"), ["x"], "body: must be a string, not a list"),
    (("version",), 2.0, "version 2.0 is not supported"),
]


@pytest.mark.parametrize(("at", "value", "message"), NAMED, ids=[message for *_, message in NAMED])
def test_the_problem_is_named_in_one_line(at, value, message):
    assert message in outcome(replaced(rich(2), at, value))


def test_show_never_raises_on_a_huge_number_wherever_it_is():
    assert show(HUGE) == "<a number of 5001 digits>"
    assert show([1, {"x": -HUGE}]).startswith("<a list holding a number of 5001 digits")


# drawn as a number of digits: a strategy's repr (which Hypothesis prints) may not hold the number itself
HUGE_NUMBERS = st.sampled_from([4301, 5000]).map(lambda digits: -(10**digits))
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | HUGE_NUMBERS | st.floats() | st.text(max_size=50),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=20), inner, max_size=5),
    max_leaves=30)


@settings(max_examples=300, deadline=None)
@given(JSON)
@example({"version": 2, "repository": "a/b", "endpoint": "e", "model": "m", "targets": [], "requests": {},
          "files": {}, "batches": []})
def test_any_json_value_is_a_manifest_error(data):
    assert outcome(data) != "ok" or isinstance(data, dict)


@settings(max_examples=300, deadline=None)
@given(version=st.sampled_from([1, 2]), data=st.data())
def test_any_field_replaced_by_any_json_is_reported_or_read(version, data):
    """Mutations of a real manifest, drawn: a field (anywhere, nested included) replaced by any JSON
    value, or a key removed or added."""
    doc = rich(version)
    spots = list(places(doc))
    for _ in range(data.draw(st.integers(1, 3))):
        at = data.draw(st.sampled_from(spots))
        action = data.draw(st.sampled_from(["replace", "remove", "add"]))
        try:
            node = doc
            for k in at[:-1]:
                node = node[k]
            if action == "replace":
                node[at[-1]] = data.draw(JSON)
            elif action == "remove":
                del node[at[-1]]
            elif isinstance(node[at[-1]], dict):
                node[at[-1]][data.draw(st.text(max_size=10))] = data.draw(JSON)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation removed or reshaped this spot
    outcome(doc)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=2_000))
@example(b"\xff\xfe{}")
@example(b"{\"version\": " + b"9" * 5000 + b"}")
@example(b"[" * 100_000)
def test_any_bytes_on_disk_are_a_manifest_error(tmp_path, raw):
    path = tmp_path / "manifest.json"
    path.write_bytes(raw)
    with pytest.raises(ManifestError) as caught:
        Manifest.load(path)
    assert str(caught.value).startswith(str(path)) and NOT_FORESEEN not in str(caught.value)


@pytest.mark.parametrize(("field", "where"), [('"attempt": 1', "attempt"), ('"number": 1', "targets.pr-1.number"),
                                               ('"batch": 0', "requests.pr-1:0000:0.batch"),
                                               ('"bytes": 10', "batches[0].bytes")])
def test_a_number_of_5000_digits_on_disk_is_named_with_the_targets(tmp_path, field, where):
    """json.loads alone raises ValueError (not JSONDecodeError) for such a number; read as its length, it is
    refused by name, and the targets the manifest names are still known (so poll can say so on the commit)."""
    text = json.dumps(rich(2))
    assert field in text
    path = tmp_path / "manifest.json"
    path.write_text(text.replace(field, field.split(":")[0] + ": -" + "9" * 5000, 1))
    with pytest.raises(ManifestError) as caught:
        Manifest.load(path)
    assert str(caught.value) == f"{path}: {where}: <a number of 5000 digits> is past any number a manifest holds"
    assert targets_of(caught.value) == [("pr-1", "a" * 40), ("branches-0123456789ab", "1" * 40)]


def test_numbers_a_manifest_holds_are_read_as_numbers(tmp_path):
    doc = rich(2)
    doc["batches"][0]["bytes"] = 2**63 - 1  # 19 digits: the largest a manifest may hold
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(doc))
    assert Manifest.load(path).batches[0].bytes == 2**63 - 1
    doc["batches"][0]["bytes"] = 2**63
    path.write_text(json.dumps(doc))
    with pytest.raises(ManifestError, match=r"batches\[0\]\.bytes: 9223372036854775808 is past any number"):
        Manifest.load(path)


def test_the_last_net_still_answers_with_a_manifest_error(monkeypatch):
    """Whatever slips past the checks (a bug in them) is still reported as a damaged manifest, with its
    targets, not a traceback that stops every poll."""
    import batch_review.ledger.manifest as manifest_module

    def slipped(data, source):
        raise TypeError("unhashable type: 'list'")

    doc = rich(2)  # made before the checks break: it is read through them
    monkeypatch.setattr(manifest_module, "check_fields", slipped)
    with pytest.raises(ManifestError, match=r"^m\.json: damaged in a way the checks have not foreseen \(TypeError\)$") as caught:
        Manifest.from_json(doc, source="m.json")
    assert ("pr-1", "a" * 40) in targets_of(caught.value)


def test_the_rich_manifests_are_accepted():
    """The corpus's starting points are valid, so each mutation tests the one field it changed."""
    assert outcome(rich(1)) == outcome(rich(2)) == "ok"
