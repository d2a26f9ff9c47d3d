"""github/api.py's artifact blobs and retiring, with plain requests against the GitHub emulator: the zip
comes from the blob host the 302 names, which never receives the token; a download over its cap or of an
expired artifact fails at once, a 5xx is tried again; a delete is done at 204 or 404, tried again after a
5xx, and refused permission is one line. The constructor refuses what it cannot use before any request."""

from __future__ import annotations

import pytest

from batch_review.core.errors import GitHubError
from batch_review.github.api import GitHubAPI

from ..conftest import GITHUB_TOKEN
from ..emulators.github_emu import make_zip

ZIP = make_zip({"batch-review-1/manifest.json": "{}"})


@pytest.fixture
def api(github_emu) -> GitHubAPI:
    return GitHubAPI(GITHUB_TOKEN, "acme/widgets", github_emu.api_url, timeout=5)


def _zip_requests(emu, artifact_id: int) -> int:
    return len(emu.requests("GET", rf"/actions/artifacts/{artifact_id}/zip$"))


def test_the_zip_comes_from_the_blob_host_without_the_token(api, github_emu):
    aid = github_emu.add_artifact("batch-review-1-1", ZIP)
    assert api.download_artifact(aid) == ZIP
    assert github_emu.blob_auth_leaks == []
    assert _zip_requests(github_emu, aid) == 1


def test_a_zip_over_the_cap_is_refused_at_once(api, github_emu):
    aid = github_emu.add_artifact("batch-review-1-1", ZIP)
    with pytest.raises(GitHubError) as caught:
        api.download_artifact(aid, max_bytes=len(ZIP) - 1)
    assert caught.value.line() == f"artifact {aid} is larger than {len(ZIP) - 1:,} bytes"
    assert _zip_requests(github_emu, aid) == 1
    assert api.download_artifact(aid, max_bytes=len(ZIP)) == ZIP  # exactly the cap is fine


def test_an_expired_artifact_is_one_line_and_not_asked_again(api, github_emu):
    aid = github_emu.add_artifact("batch-review-1-1", ZIP, expired=True)
    with pytest.raises(GitHubError) as caught:
        api.download_artifact(aid)
    assert caught.value.line() == f"downloading artifact {aid}: HTTP 410" and caught.value.status == 410
    assert _zip_requests(github_emu, aid) == 1


def test_a_server_error_is_tried_again(api, github_emu):
    aid = github_emu.add_artifact("batch-review-1-1", ZIP)
    github_emu.inject("GET", rf"/actions/artifacts/{aid}/zip$", 502, times=2)
    assert api.download_artifact(aid) == ZIP
    assert _zip_requests(github_emu, aid) == 3


def test_a_download_that_keeps_failing_says_so_after_four_tries(api, github_emu):
    aid = github_emu.add_artifact("batch-review-1-1", ZIP)
    github_emu.inject("GET", rf"/actions/artifacts/{aid}/zip$", 503, times=10)
    with pytest.raises(GitHubError) as caught:
        api.download_artifact(aid)
    assert caught.value.line() == f"downloading artifact {aid}: HTTP 503" and caught.value.status == 503
    assert _zip_requests(github_emu, aid) == 4 and caught.value.transient
    assert GITHUB_TOKEN not in caught.value.line()


def test_a_delete_is_done_once_gone_whoever_deleted_it(api, github_emu):
    aid = github_emu.add_artifact("batch-review-1-1", ZIP)
    api.delete_artifact(aid)
    assert aid not in github_emu.artifacts
    api.delete_artifact(aid)  # 404: another poll retired it
    assert len(github_emu.requests("DELETE", rf"/actions/artifacts/{aid}$")) == 2


def test_a_delete_after_a_server_error_is_sent_again(api, github_emu):
    aid = github_emu.add_artifact("batch-review-1-1", ZIP)
    github_emu.inject("DELETE", rf"/actions/artifacts/{aid}$", 500)
    api.delete_artifact(aid)
    assert aid not in github_emu.artifacts
    assert len(github_emu.requests("DELETE", rf"/actions/artifacts/{aid}$")) == 2


def test_a_refused_delete_is_one_line_and_not_sent_again(api, github_emu):
    aid = github_emu.add_artifact("batch-review-1-1", ZIP)
    github_emu.permissions["actions"] = "read"
    with pytest.raises(GitHubError) as caught:
        api.delete_artifact(aid)
    assert caught.value.status == 403 and not caught.value.transient
    assert caught.value.line().startswith(f"deleting artifact {aid}: HTTP 403 ")
    assert "Resource not accessible by integration" in caught.value.line() and "\n" not in caught.value.line()
    assert len(github_emu.requests("DELETE", rf"/actions/artifacts/{aid}$")) == 1
    assert aid in github_emu.artifacts


@pytest.mark.parametrize(("token", "repository", "says"), [
    ("", "acme/widgets", "no GitHub token: set GITHUB_TOKEN"),
    (GITHUB_TOKEN, "acme", "GITHUB_REPOSITORY must be owner/name, not 'acme'"),
    (GITHUB_TOKEN, "acme/widgets/extra", "GITHUB_REPOSITORY must be owner/name"),
])
def test_what_cannot_be_used_is_refused_before_any_request(github_emu, token, repository, says):
    with pytest.raises(GitHubError, match=says):
        GitHubAPI(token, repository, github_emu.api_url)
    assert github_emu.log == []


def test_a_repository_that_cannot_be_opened_is_one_line(github_emu):
    api = GitHubAPI(GITHUB_TOKEN, "acme/gone", github_emu.api_url, timeout=5)
    with pytest.raises(GitHubError) as caught:
        api.repository_id  # noqa: B018 - the property reads the repository
    assert caught.value.line().startswith("cannot open repository acme/gone: ")
    assert caught.value.status == 404 and GITHUB_TOKEN not in caught.value.line()
