"""Damaged manifests end to end (issue 21, item 5): the attacker, a bad disk or a hand edit puts a list where
a string belongs, or a number of 5,000 digits, into a workflow artifact's manifest. Before, poll raised
TypeError or ValueError, exited 1 with a traceback on every run, and said nothing on the commit. Now the
real CLI, over the GitHub and OpenAI emulators, reports it once as the `batch-review: problem` check run on
the commit it names, and the intact manifest beside it still posts its review.
"""

from __future__ import annotations

import json

import pytest

from ..emulators.github_emu import make_zip
from .test_one_manifest_one_fate import edited, manifest_name, poll_artifacts, submitted


def long_attempt(files: dict[str, bytes]) -> dict[str, bytes]:
    """`attempt` as a number of 5,000 digits (json.dumps cannot even write one: the text is edited)."""
    text = files[manifest_name(files)].decode()
    doc = json.loads(text)
    doc["attempt"] = 123456789
    text = json.dumps(doc).replace("123456789", "9" * 5000, 1)
    return {**files, manifest_name(files): text.encode()}


DAMAGE = {
    "a list where a string belongs": (
        lambda files: edited(files, lambda d: [r.update(target=[r["target"]]) for r in d["requests"].values()]),
        "requests.pr-1:0000:0.target: must be a string, not a list"),
    "a number of 5,000 digits": (long_attempt, "attempt: <a number of 5000 digits> is past any number"),
    "a huge number in a field nothing checks": (
        lambda files: edited(files, lambda d: d["estimate"].update(cost=10**30)),
        "estimate.cost: <a number of 31 digits> is past any number"),
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_a_damaged_manifest_is_reported_on_its_commit_and_the_others_post(damage, world, tmp_path, capsys):
    make, expected = DAMAGE[damage]
    files = submitted(world)
    bad = world.github.add_artifact("batch-review-1-1", make_zip(make(files)))
    good = world.github.add_artifact("batch-review-2-1", make_zip(files), run_id=2)
    assert poll_artifacts(world, tmp_path) == 0, "a damaged manifest is a problem reported, not a failed run"
    err = capsys.readouterr().err
    assert "Traceback" not in err and len([x for x in err.splitlines() if expected in x]) == 1, err
    (review,) = world.github.reviews(1)
    assert "Division by zero" in review["body"] + "".join(c["body"] for c in review["comments"])
    (run,) = [r for r in world.github.check_runs() if r["name"] == "batch-review: problem"]
    assert run["head_sha"] == world.pulls[1] and expected in run["output"]["summary"]
    assert good not in world.github.artifacts and bad in world.github.artifacts, "only the good one is retired"
    assert poll_artifacts(world, tmp_path) == 0
    assert len([r for r in world.github.check_runs() if r["name"] == "batch-review: problem"]) == 1, \
        "reported once, not on every poll"
