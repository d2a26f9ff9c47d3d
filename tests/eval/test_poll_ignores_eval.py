"""An eval's batch is never a review to post: a poll run after an eval was sent posts nothing, adopts
nothing and downloads nothing, `status` and `cancel --all` do not see it, and the state folder uploaded
as an artifact holds no manifest for poll to read. Eval's batches carry no `batch_review` metadata key,
no manifest copy and no signature (adoption needs all three); its record is not named like a manifest.
The poll runs with the signing key set, the setup in which adoption is live."""

from __future__ import annotations

from batch_review.core.provenance import METADATA_KEY
from batch_review.eval.journey import metadata
from batch_review.eval.record import EvalRecord
from batch_review.ledger.adoption import _uncovered
from batch_review.ledger.store import LocalStore, extract_manifests
from batch_review.providers.base import BatchState

from ..emulators.github_emu import make_zip

HOURS = 2 * 3600


def _with_a_fix(world) -> None:
    repo = world.repo
    text = (repo.path / "app.py").read_text().replace("return x + 2\n", "return x - 2\n", 1)
    repo.write("app.py", text)
    repo.commit("Make f2 subtract")
    repo.write("app.py", text.replace("return x - 2\n", "return x + 2\n", 1))
    repo.commit("Fix f2")


def test_a_poll_after_an_eval_posts_nothing_and_adopts_nothing(world, signed, capsys):
    _with_a_fix(world)
    assert world.run("eval", "--state-dir", str(world.state)) == 0
    (batch_id,) = world.openai.batches
    meta = world.openai.batches[batch_id]["metadata"]
    assert meta["repository"] == "acme/widgets"  # poll's repository
    assert "batch_review" not in meta and "manifest_file" not in meta and METADATA_KEY not in meta
    for object_id in list(world.openai.batches) + list(world.openai.files):
        world.openai.backdate(object_id, HOURS)  # older than adoption's hour
    world.openai.complete_all()
    capsys.readouterr()
    assert world.poll() == 0
    out = capsys.readouterr().out
    assert "adopted" not in out and batch_id not in out
    assert world.github.requests("POST") == [] and world.github.requests("PATCH") == []
    assert world.github.reviews(1) == [] and world.github.check_runs() == []
    assert world.openai.requests("GET", r"/content$") == [], "poll downloaded nothing of the eval's"
    assert world.run("status", "--state-dir", str(world.state)) == 0
    assert batch_id not in capsys.readouterr().out
    assert world.run("cancel", "--all", "--state-dir", str(world.state)) == 0
    assert world.openai.requests("POST", r"/cancel$") == []
    # the eval goes on and reports from the same batch
    assert world.run("eval", "--state-dir", str(world.state)) == 0
    assert (world.state / "eval" / "default" / "report.md").exists()


def test_the_state_folder_as_an_artifact_holds_no_manifest_of_evals(world, tmp_path):
    _with_a_fix(world)
    assert world.run("eval", "--dry-run", "--state-dir", str(world.state)) == 0
    files = {str(p.relative_to(world.state)): p.read_bytes() for p in world.state.rglob("*") if p.is_file()}
    assert any(name.startswith("eval/default/") for name in files)
    assert extract_manifests(make_zip(files), tmp_path / "unzipped") == []
    assert LocalStore(world.state).list().pending == []


def test_adoption_does_not_take_an_eval_batch_for_ours(world):
    """The guard itself: adoption groups only batches whose metadata carries `batch_review` (planted here,
    it would); an eval's metadata never does."""
    _with_a_fix(world)
    assert world.run("eval", "--dry-run", "--state-dir", str(world.state)) == 0
    record = EvalRecord.load(world.state / "eval" / "default" / "eval.json")
    md = metadata(record, 0)

    def state(meta: dict) -> BatchState:
        return BatchState("batch_x", "completed", 0, None, "file-x", None, None, meta, {}, None, [], None)

    assert "batch_review" not in md and md["repository"] == "acme/widgets"
    assert _uncovered([state(md)], "acme/widgets", set()) == {}
    assert _uncovered([state({**md, "batch_review": "2"})], "acme/widgets", set()) != {}
