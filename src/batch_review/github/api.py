"""The only module that talks to GitHub: PyGithub for the REST API, plain requests for artifact blobs.

Reads are retried by PyGithub (5xx, rate limits). Writes (reviews, check runs) are NOT retried here: a
lost response to a POST may have been carried out, so publish.py looks for its marker before trying again.
Content-creating requests are paced (1 s apart by default, GitHub's secondary rate limit guidance).

Listings are read as plain JSON pages (never PyGithub's lazy objects, which fetch a missing attribute
with one more request): every review carries its author (`user.login`, `user.type`) and state, every
check run the app that created it (`app.slug`), so callers can tell our own writing from anyone's. Open
pull requests are listed once per run. `rate_remaining` reads the X-RateLimit-Remaining header of the
last answer, without a request of its own. The answers become github_records.py's plain records.
"""

from __future__ import annotations

import os
import time
from urllib.parse import urlsplit

import requests
from github import Auth, Github, GithubException, GithubRetry
from github.Artifact import Artifact
from github.PaginatedList import PaginatedList
from urllib3.util.retry import Retry

from ..core.errors import GitHubError
from .records import (
    DEFAULT_GITHUB_API_URL,
    ArtifactInfo,
    CheckRunInfo,
    PullInfo,
    ReviewInfo,
    RunInfo,
    int_or_none,
    next_link,
    pull_info,
    review_info,
)

WRITE_INTERVAL_ENV = "BATCH_REVIEW_WRITE_INTERVAL"


def _error(exc: Exception, what: str) -> GitHubError:
    if isinstance(exc, GithubException):
        data = exc.data if isinstance(exc.data, dict) else {}
        message = str(data.get("message") or exc.message or "").strip().splitlines()
        detail = message[0] if message else ""
        errors = data.get("errors")
        if isinstance(errors, list) and errors:
            detail += ": " + "; ".join(str(e.get("message", e) if isinstance(e, dict) else e) for e in errors)
        retry_after = None
        headers = exc.headers or {}
        if headers.get("retry-after", "").isdigit():
            retry_after = float(headers["retry-after"])
        return GitHubError(exc.status, f"{what}: HTTP {exc.status} {detail}".strip(), retry_after=retry_after)
    return GitHubError(0, f"{what}: {type(exc).__name__}: {exc}")


def _require_ids(items: list, what: str) -> None:
    if any(not isinstance(item.id, int) for item in items):
        raise GitHubError(0, f"{what}: the answer was not the JSON GitHub sends")


class GitHubAPI:
    def __init__(self, token: str, repository: str, api_url: str | None = None, *, timeout: float = 30) -> None:
        if not token:
            raise GitHubError(0, "no GitHub token: set GITHUB_TOKEN (the action passes the workflow token)")
        if repository.count("/") != 1:
            raise GitHubError(0, f"GITHUB_REPOSITORY must be owner/name, not {repository!r}")
        self.repository = repository
        self.api_url = (api_url or DEFAULT_GITHUB_API_URL).rstrip("/")
        self._token = token
        self._timeout = timeout
        interval = float(os.environ.get(WRITE_INTERVAL_ENV, "1.0"))
        # Only idempotent methods are retried by the client; POST and PATCH are retried by publish.py
        # after it has checked that the first attempt did not land.
        retry = GithubRetry(total=5, backoff_factor=0.5, allowed_methods=Retry.DEFAULT_ALLOWED_METHODS)
        self._gh = Github(
            auth=Auth.Token(token), base_url=self.api_url, timeout=max(1, round(timeout)), retry=retry, per_page=100,
            seconds_between_requests=min(interval, 0.25), seconds_between_writes=interval,
        )
        self._repo = None
        self._open_pulls: list[PullInfo] | None = None

    @property
    def repo(self):
        if self._repo is None:
            try:
                self._repo = self._gh.get_repo(self.repository)
            except Exception as exc:  # noqa: BLE001 - every failure becomes one GitHubError line
                raise _error(exc, f"cannot open repository {self.repository}") from exc
        return self._repo

    @property
    def repository_id(self) -> int:
        return self.repo.id

    @property
    def default_branch(self) -> str:
        return self.repo.default_branch

    # --- pull requests -------------------------------------------------------------------------------

    def rate_remaining(self) -> int | None:
        """Requests left in the token's primary rate budget: from the last answer's X-RateLimit-Remaining
        header, or, before any answer, from one GET /rate_limit (which GitHub does not count). None when
        GitHub does not say (rate limiting disabled on a GitHub Enterprise Server)."""
        remaining, limit = self._gh.requester.rate_limiting
        if limit >= 0 and remaining >= 0:
            return int(remaining)
        try:
            _, data = self._gh.requester.requestJsonAndCheck("GET", "/rate_limit")
            core = ((data or {}).get("resources") or {}).get("core") or (data or {}).get("rate") or {}
            return int(core["remaining"])
        except Exception:  # noqa: BLE001 - no figure: carry on, the budget check is a courtesy
            return None

    def _pages(self, url: str, params: dict, what: str, list_item: str | None = None) -> list[dict]:
        """Every item of a paginated listing as plain JSON."""
        out: list[dict] = []
        try:
            requester = self.repo._requester
            next_url: str | None = url
            query: dict | None = {**params, "per_page": 100}
            while next_url:
                headers, data = requester.requestJsonAndCheck("GET", next_url, parameters=query)
                items = data.get(list_item) if list_item and isinstance(data, dict) else data
                if not isinstance(items, list) or any(not isinstance(i, dict) for i in items):
                    raise GitHubError(0, f"{what}: the answer was not the JSON GitHub sends")
                out.extend(items)
                next_url, query = next_link(headers), None  # the next link carries its own query
        except GitHubError:
            raise
        except Exception as exc:  # noqa: BLE001 - every failure becomes one GitHubError line
            raise _error(exc, what) from exc
        return out

    def open_pulls(self) -> list[PullInfo]:
        """The open pull requests, listed once per run (100 a page) and remembered."""
        if self._open_pulls is None:
            items = self._pages(f"{self.repo.url}/pulls", {"state": "open", "sort": "created"},
                                "listing open pull requests")
            try:
                self._open_pulls = [pull_info(p) for p in items]
            except (KeyError, TypeError, ValueError) as exc:
                raise GitHubError(0, "listing open pull requests: the answer was not the JSON GitHub sends") from exc
        return self._open_pulls

    def open_pull(self, number: int) -> PullInfo | None:
        """The pull request if it is open (from the one listing of this run), else None."""
        return next((p for p in self.open_pulls() if p.number == number), None)

    def pull(self, number: int) -> PullInfo:
        try:
            _, data = self.repo._requester.requestJsonAndCheck("GET", f"{self.repo.url}/pulls/{number}")
            return pull_info(data)
        except Exception as exc:  # noqa: BLE001
            raise _error(exc, f"reading pull request #{number}") from exc

    def reviews(self, number: int) -> list[ReviewInfo]:
        """Every review of the pull request, with its author and state. GitHub shows a PENDING review to
        its author only."""
        what = f"listing reviews of #{number}"
        reviews = [review_info(r) for r in self._pages(f"{self.repo.url}/pulls/{number}/reviews", {}, what)]
        # a listing we cannot trust must not read as "our review is not there", or the retry after a
        # lost response would post it twice
        _require_ids(reviews, what)
        return reviews

    def create_pending_review(self, number: int, commit_id: str, body: str, comments: list[dict]) -> ReviewInfo:
        """POST a review without an event: it stays PENDING (seen by nobody else) until submitted. GitHub
        allows one pending review per user and pull request: the claim publish.py is built on. Not retried
        here: the caller looks for it first."""
        try:
            _, data = self.repo._requester.requestJsonAndCheck(
                "POST", f"{self.repo.url}/pulls/{number}/reviews",
                input={"commit_id": commit_id, "body": body, "comments": comments},
            )
            review = review_info(data)
        except Exception as exc:  # noqa: BLE001
            raise _error(exc, f"posting the review on #{number}") from exc
        _require_ids([review], f"posting the review on #{number}")
        return review

    def submit_review(self, number: int, review_id: int) -> None:
        """Submit a pending review as a COMMENT: from here on everyone sees it."""
        what = f"submitting review {review_id} on #{number}"
        try:
            _, data = self.repo._requester.requestJsonAndCheck(
                "POST", f"{self.repo.url}/pulls/{number}/reviews/{review_id}/events", input={"event": "COMMENT"})
        except Exception as exc:  # noqa: BLE001
            raise _error(exc, what) from exc
        review = review_info(data if isinstance(data, dict) else {})
        if review.id != review_id or review.pending or not review.state:  # unreadable: did it happen?
            raise GitHubError(0, f"{what}: the answer was not the JSON GitHub sends")

    def delete_pending_review(self, number: int, review_id: int) -> None:
        """Delete a pending review (a submitted one cannot be deleted)."""
        try:
            self.repo._requester.requestJsonAndCheck("DELETE", f"{self.repo.url}/pulls/{number}/reviews/{review_id}")
        except Exception as exc:  # noqa: BLE001
            raise _error(exc, f"deleting pending review {review_id} on #{number}") from exc

    # --- check runs ----------------------------------------------------------------------------------

    def check_runs(self, head_sha: str, name: str) -> list[CheckRunInfo]:
        """The check runs named `name` on a commit, each with the app that created it (one listing, no
        commit fetch first)."""
        what = f"listing check runs of {head_sha[:12]}"
        runs = self._pages(f"{self.repo.url}/commits/{head_sha}/check-runs", {"check_name": name, "filter": "all"},
                           what, list_item="check_runs")
        try:
            found = [
                CheckRunInfo(r.get("id"), r.get("name") or "", r.get("head_sha") or "", r.get("external_id"),
                             int((r.get("output") or {}).get("annotations_count") or 0), r.get("status") or "",
                             str((r.get("app") or {}).get("slug") or ""))
                for r in runs
            ]
        except (TypeError, ValueError, AttributeError) as exc:
            raise GitHubError(0, f"{what}: the answer was not the JSON GitHub sends") from exc
        _require_ids(found, what)
        return found

    def create_check_run(self, *, name: str, head_sha: str, external_id: str, output: dict,
                         conclusion: str | None) -> int:
        payload: dict = {"name": name, "head_sha": head_sha, "external_id": external_id, "output": output}
        if conclusion:
            payload.update(status="completed", conclusion=conclusion)
        else:
            payload["status"] = "in_progress"
        try:
            _, data = self.repo._requester.requestJsonAndCheck("POST", f"{self.repo.url}/check-runs", input=payload)
            return int(data["id"])
        except Exception as exc:  # noqa: BLE001
            raise _error(exc, f"creating check run {name!r} on {head_sha[:12]}") from exc

    def update_check_run(self, check_run_id: int, *, output: dict, conclusion: str | None = None) -> None:
        payload: dict = {"output": output}
        if conclusion:
            payload.update(status="completed", conclusion=conclusion)
        try:
            self.repo._requester.requestJsonAndCheck(
                "PATCH", f"{self.repo.url}/check-runs/{check_run_id}", input=payload
            )
        except Exception as exc:  # noqa: BLE001
            raise _error(exc, f"updating check run {check_run_id}") from exc

    # --- artifacts -----------------------------------------------------------------------------------

    def artifacts(self, prefix: str) -> list[ArtifactInfo]:
        """Unexpired artifacts of this repository whose name starts with `prefix`, oldest first."""
        out = []
        try:
            for a in self.repo.get_artifacts():
                if not a.name.startswith(prefix) or a.expired:
                    continue
                raw = a.raw_data.get("workflow_run")
                run = raw if isinstance(raw, dict) else {}
                out.append(ArtifactInfo(
                    id=a.id, name=a.name, created_at=a.created_at.isoformat() if a.created_at else "",
                    expired=bool(a.expired), size=int(a.size_in_bytes or 0),
                    run_id=int_or_none(run.get("id")), repository_id=int_or_none(run.get("repository_id")),
                    head_repository_id=int_or_none(run.get("head_repository_id")),
                    head_sha=run.get("head_sha"), head_branch=run.get("head_branch"),
                    has_workflow_run="workflow_run" in a.raw_data,
                ))
        except Exception as exc:  # noqa: BLE001
            raise _error(exc, "listing workflow artifacts") from exc
        out.sort(key=lambda a: (a.created_at, a.id))
        return out

    def workflow_run(self, run_id: int) -> RunInfo:
        """GET /repos/{o}/{r}/actions/runs/{run_id}: who ran which workflow file, on what event and branch."""
        try:
            _, data = self.repo._requester.requestJsonAndCheck(
                "GET", f"{self.repo.url}/actions/runs/{int(run_id)}", parameters={"exclude_pull_requests": "true"})
        except Exception as exc:  # noqa: BLE001
            raise _error(exc, f"reading workflow run {run_id}") from exc
        if not isinstance(data, dict) or not isinstance(data.get("id"), int):
            raise GitHubError(0, f"reading workflow run {run_id}: the answer was not the JSON GitHub sends")
        repo, head = data.get("repository"), data.get("head_repository")
        return RunInfo(
            id=data["id"], event=str(data.get("event") or ""), path=str(data.get("path") or ""),
            head_branch=data.get("head_branch") if isinstance(data.get("head_branch"), str) else None,
            repository_id=int_or_none(repo.get("id")) if isinstance(repo, dict) else None,
            head_repository_id=int_or_none(head.get("id")) if isinstance(head, dict) else None,
        )

    def run_artifact_ids(self, run_id: int) -> set[int]:
        """The ids of the artifacts GitHub lists under one workflow run (actions/list-workflow-run-artifacts)."""
        try:
            listing = PaginatedList(Artifact, self.repo._requester,
                                    f"{self.repo.url}/actions/runs/{int(run_id)}/artifacts", {"per_page": 100},
                                    list_item="artifacts")
            return {a.id for a in listing}
        except Exception as exc:  # noqa: BLE001
            raise _error(exc, f"listing the artifacts of workflow run {run_id}") from exc

    def download_artifact(self, artifact_id: int, *, max_bytes: int = 512 * 1024 * 1024) -> bytes:
        """The artifact's zip. GitHub answers 302 to a short-lived blob URL: the token is never sent there."""
        url = f"{self.api_url}/repos/{self.repository}/actions/artifacts/{artifact_id}/zip"
        headers = {"Authorization": f"Bearer {self._token}", "Accept": "application/vnd.github+json",
                   "X-GitHub-Api-Version": "2022-11-28"}
        last: Exception | None = None
        for attempt in range(4):
            try:
                resp = requests.get(url, headers=headers, allow_redirects=False, timeout=self._timeout)
                if resp.status_code in (301, 302, 303, 307, 308):
                    location = resp.headers.get("Location", "")
                    if urlsplit(location).scheme not in ("http", "https"):
                        raise GitHubError(resp.status_code, f"artifact {artifact_id}: bad redirect {location!r}")
                    resp = requests.get(location, allow_redirects=True, timeout=self._timeout, stream=True)
                if resp.status_code >= 500 or resp.status_code == 429:
                    raise GitHubError(resp.status_code, f"downloading artifact {artifact_id}: HTTP {resp.status_code}")
                if resp.status_code != 200:
                    raise GitHubError(resp.status_code, f"downloading artifact {artifact_id}: HTTP {resp.status_code}")
                data = bytearray()
                for chunk in resp.iter_content(1 << 16):
                    data.extend(chunk)
                    if len(data) > max_bytes:
                        raise GitHubError(0, f"artifact {artifact_id} is larger than {max_bytes:,} bytes")
                return bytes(data)
            except GitHubError as exc:
                if exc.status < 500 and exc.status != 429:
                    raise
                last = exc
            except requests.RequestException as exc:
                last = exc
            time.sleep(min(8.0, 0.5 * 2**attempt))
        raise GitHubError(0, f"downloading artifact {artifact_id}: {last}")

    def delete_artifact(self, artifact_id: int) -> None:
        """Delete (retire) an artifact. Only 204 counts as done; 404 means another poll retired it."""
        try:
            status, _, body = self.repo._requester.requestJson(
                "DELETE", f"{self.repo.url}/actions/artifacts/{artifact_id}")
        except Exception as exc:  # noqa: BLE001
            raise _error(exc, f"deleting artifact {artifact_id}") from exc
        if status in (204, 404):
            return
        message = (body or "").strip().splitlines()[0][:200] if (body or "").strip() else ""
        raise GitHubError(status, f"deleting artifact {artifact_id}: HTTP {status} {message}".strip())
