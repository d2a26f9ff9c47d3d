"""The only module that talks to GitHub: PyGithub for REST and GraphQL, plain requests for artifact blobs.

Reads are retried (PyGithub's REST reads, GraphQL reads here). Writes are NOT retried blindly: a lost
response to a POST may have been carried out, so publish.py looks before trying again. Every write goes
through the run's WriteBudget (pacing.py: GitHub's write limits; nothing within a minute after a limit
answer) and every answer's rate headers are read into it. Listings are plain JSON pages (never PyGithub's
lazy objects): every review carries its author and state, every check run its app, so callers can tell our
own writing from anyone's. Pull requests, their reviews and review threads are read in bulk through
GraphQL (graphql.py, threads.py); the answers become records.py's plain records.
"""

from __future__ import annotations

import os
import time
from urllib.parse import quote, urlsplit

import requests
from github import Auth, Github, GithubException, GithubRetry
from github.Artifact import Artifact
from github.PaginatedList import PaginatedList

from ..core.errors import GitHubError
from . import graphql, pacing, threads
from . import records as rec
from .pacing import WriteBudget

WRITE_INTERVAL_ENV = "BATCH_REVIEW_WRITE_INTERVAL"


def _message(exc: GithubException) -> str:
    return rec.answer_message(exc.data, exc.message)


def _error(exc: Exception, what: str) -> GitHubError:
    if isinstance(exc, GithubException):
        return rec.http_error(exc.status, exc.data, exc.message, exc.headers, what)
    return GitHubError(0, f"{what}: {type(exc).__name__}: {exc}")


class GitHubAPI:
    def __init__(self, token: str, repository: str, api_url: str | None = None, *, timeout: float = 30) -> None:
        if not token:
            raise GitHubError(0, "no GitHub token: set GITHUB_TOKEN (the action passes the workflow token)")
        if repository.count("/") != 1:
            raise GitHubError(0, f"GITHUB_REPOSITORY must be owner/name, not {repository!r}")
        self.repository = repository
        self.api_url = (api_url or rec.DEFAULT_GITHUB_API_URL).rstrip("/")
        self._token = token
        self._timeout = timeout
        interval = float(os.environ.get(WRITE_INTERVAL_ENV, "1.0"))
        self.budget = WriteBudget(interval=interval, clock=pacing.CLOCK)  # writes are paced here, not by PyGithub
        # Only reads are retried by the client. Writes are retried here and by publish.py, through the write
        # budget (a retry within a minute after a limit answer would break GitHub's rule) and, for POST and
        # PATCH, after checking that the first attempt did not land.
        retry = GithubRetry(total=5, backoff_factor=0.5, allowed_methods=frozenset({"GET", "HEAD", "OPTIONS"}))
        self._gh = Github(auth=Auth.Token(token), base_url=self.api_url, timeout=max(1, round(timeout)), retry=retry,
                          per_page=100, seconds_between_requests=0, seconds_between_writes=0)
        self._repo = None
        self._open_pulls: list[rec.PullInfo] | None = None
        self._permissions: dict[str, str] = {}

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
        """Requests left in the token's primary budget: the lowest X-RateLimit-Remaining of the last answers
        (REST and GraphQL apart), else one GET /rate_limit (not counted); None when GitHub does not say."""
        if self.budget.rate_remaining:
            return min(r for r, _ in self.budget.rate_remaining.values())
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
            next_url: str | None = url
            query: dict | None = {**params, "per_page": 100}
            while next_url:
                headers, data = self._read("GET", next_url, parameters=query)
                items = data.get(list_item) if list_item and isinstance(data, dict) else data
                if not isinstance(items, list) or any(not isinstance(i, dict) for i in items):
                    raise GitHubError(0, f"{what}: the answer was not the JSON GitHub sends")
                out.extend(items)
                next_url, query = rec.next_link(headers), None  # the next link carries its own query
        except GitHubError:
            raise
        except Exception as exc:  # noqa: BLE001 - every failure becomes one GitHubError line
            raise _error(exc, what) from exc
        return out

    def _read(self, method: str, url: str, **kwargs):
        """A read through PyGithub: not before a limit answer's wait is over; its rate headers noted."""
        self.budget.wait_to_send()
        try:
            headers, data = self.repo._requester.requestJsonAndCheck(method, url, **kwargs)
        except GithubException as exc:
            self.budget.observe(exc.status, exc.headers, _message(exc))
            raise
        self.budget.observe(200, headers)
        return headers, data

    def _send_write(self, method: str, url: str, what: str, payload: dict | None = None):
        """One content-creating request, within the write budget (pacing.py): (headers, data), or the
        GitHubError its answer means (a limit answer carries its wait as retry_after)."""
        self.budget.before_write()
        try:
            kwargs = {"input": payload} if payload is not None else {}
            headers, data = self.repo._requester.requestJsonAndCheck(method, url, **kwargs)
        except GithubException as exc:
            limited = self.budget.observe(exc.status, exc.headers, _message(exc))
            error = _error(exc, what)
            if limited and error.retry_after is None:
                error.retry_after = max(0.0, self.budget.blocked_until - self.budget.clock.now())
            raise error from exc
        except Exception as exc:  # noqa: BLE001 - every failure becomes one GitHubError line
            raise _error(exc, what) from exc
        self.budget.observe(200, headers)
        return headers, data

    # --- GraphQL: pull requests and their reviews in bulk ----------------------------------------------

    def _graphql(self, query: str, variables: dict, what: str) -> dict:
        """One GraphQL query's data, retried (it only reads) on no answer, 5xx, 429 or a malformed body."""
        owner, name = self.repository.split("/")
        payload = {"query": query, "variables": {"owner": owner, "name": name, **variables}}
        last: GitHubError | None = None
        for attempt in range(4):
            if attempt:
                self.budget.clock.sleep(min(8.0, 0.5 * 2 ** attempt))
            try:
                _, body = self._read("POST", self._gh.requester.graphql_url, input=payload)
            except Exception as exc:  # noqa: BLE001 - connection failures, a body that is not JSON, HTTP errors
                last = _error(exc, what)
                if not last.transient:
                    raise last from exc
                continue
            data = graphql.data_of(body, what)  # GraphQL's own errors are raised: asking again gives the same
            if data is not None:
                return data
            last = GitHubError(0, f"{what}: {graphql.BAD_ANSWER}")
        raise last

    def pull_snapshots(self, numbers, claims: tuple[str, ...] = ()) -> tuple[dict[int, rec.PullSnapshot], list]:
        """Each pull request's state, head and every review visible to us, PULLS_PER_QUERY a query (all
        pages of reviews), and the claimed pending reviews (by node id) with their comments."""
        out: dict[int, rec.PullSnapshot] = {}
        claimed: list = []
        for chunk, asked in graphql.chunks(numbers, claims):
            query, variables = graphql.pulls_query(chunk, asked)
            snaps, found = graphql.read_pulls(self._graphql(query, variables, "reading pull requests"), chunk, asked)
            claimed += found
            for number, (snap, cursor) in snaps.items():
                out[number] = self._rest_of_reviews(snap, cursor)
        return out, claimed

    def _rest_of_reviews(self, snap: rec.PullSnapshot, cursor: str | None) -> rec.PullSnapshot:
        reviews = list(snap.reviews)
        while cursor:
            query, variables = graphql.page_query(snap.number, cursor)
            data = self._graphql(query, variables, f"reading the reviews of #{snap.number}")
            try:
                more, cursor = graphql.page_of(data["repository"]["pullRequest"]["reviews"])
            except (KeyError, TypeError, ValueError) as exc:
                raise GitHubError(0, f"reading the reviews of #{snap.number}: {graphql.BAD_ANSWER}") from exc
            reviews += more
        return rec.PullSnapshot(snap.number, snap.state, snap.merged, snap.head_sha, tuple(reviews))

    def review_threads(self, numbers) -> dict[int, threads.PullThreads]:
        """Each pull request's author and review threads (resolved by whom, comments, 👎 reactions' users):
        one GraphQL read per THREAD_PULLS_PER_QUERY pull requests (threads.py)."""
        out: dict[int, threads.PullThreads] = {}
        for chunk in threads.chunks(numbers):
            query, variables = threads.threads_query(chunk)
            out.update(threads.read_threads(self._graphql(query, variables, "reading review threads"), chunk))
        return out

    def permission(self, login: str) -> str:
        """A user's base role here (admin, write, read or none; maintain reads as write), asked once per run."""
        if login not in self._permissions:
            what = f"reading the permission of {login!r}"
            try:
                _, data = self._read("GET", f"{self.repo.url}/collaborators/{quote(login, safe='')}/permission")
                self._permissions[login] = str((data if isinstance(data, dict) else {}).get("permission") or "none")
            except Exception as exc:  # noqa: BLE001 - one GitHubError line; a 404: no such user, no role here
                if not isinstance(exc, GithubException) or exc.status != 404:
                    raise _error(exc, what) from exc
                self._permissions[login] = "none"
        return self._permissions[login]

    def open_pulls(self) -> list[rec.PullInfo]:
        """The open pull requests, listed once per run (100 a page) and remembered."""
        if self._open_pulls is None:
            items = self._pages(f"{self.repo.url}/pulls", {"state": "open", "sort": "created"},
                                "listing open pull requests")
            try:
                self._open_pulls = [rec.pull_info(p) for p in items]
            except (KeyError, TypeError, ValueError) as exc:
                raise GitHubError(0, "listing open pull requests: the answer was not the JSON GitHub sends") from exc
        return self._open_pulls

    def review(self, number: int, review_id: int) -> rec.ReviewInfo | None:
        """One review as we see it (None: gone, or someone else's pending review)."""
        what = f"reading review {review_id} of #{number}"
        try:
            _, data = self._read("GET", f"{self.repo.url}/pulls/{number}/reviews/{review_id}")
        except GithubException as exc:
            if exc.status == 404:
                return None
            raise _error(exc, what) from exc
        except Exception as exc:  # noqa: BLE001
            raise _error(exc, what) from exc
        review = rec.review_info(data if isinstance(data, dict) else {})
        rec.require_ids([review], what)
        return review

    def reviews(self, number: int) -> list[rec.ReviewInfo]:
        """Every review of the pull request, with its author and state. GitHub shows a PENDING review to
        its author only."""
        what = f"listing reviews of #{number}"
        reviews = [rec.review_info(r) for r in self._pages(f"{self.repo.url}/pulls/{number}/reviews", {}, what)]
        # a listing we cannot trust must not read as "our review is not there", or the retry after a
        # lost response would post it twice
        rec.require_ids(reviews, what)
        return reviews

    def create_pending_review(self, number: int, commit_id: str, body: str, comments: list[dict]) -> rec.ReviewInfo:
        """POST a review without an event: it stays PENDING (seen by nobody else) until submitted. GitHub
        allows one pending review per user and pull request: the claim publish.py is built on. Not retried
        here: the caller looks for it first."""
        what = f"posting the review on #{number}"
        _, data = self._send_write("POST", f"{self.repo.url}/pulls/{number}/reviews", what,
                                   {"commit_id": commit_id, "body": body, "comments": comments})
        try:
            review = rec.review_info(data)
        except Exception as exc:  # noqa: BLE001
            raise _error(exc, what) from exc
        rec.require_ids([review], what)
        return review

    def submit_review(self, number: int, review_id: int) -> None:
        """Submit a pending review as a COMMENT: from here on everyone sees it."""
        what = f"submitting review {review_id} on #{number}"
        _, data = self._send_write("POST", f"{self.repo.url}/pulls/{number}/reviews/{review_id}/events", what,
                                   {"event": "COMMENT"})
        review = rec.review_info(data if isinstance(data, dict) else {})
        if review.id != review_id or review.pending or not review.state:  # unreadable: did it happen?
            raise GitHubError(0, f"{what}: the answer was not the JSON GitHub sends")

    def delete_pending_review(self, number: int, review_id: int) -> None:  # only a pending one can go
        self._send_write("DELETE", f"{self.repo.url}/pulls/{number}/reviews/{review_id}",
                         f"deleting pending review {review_id} on #{number}")

    # --- check runs ----------------------------------------------------------------------------------

    def check_runs(self, head_sha: str, name: str) -> list[rec.CheckRunInfo]:
        """The check runs named `name` on a commit, each with the app that created it (one listing, no
        commit fetch first)."""
        what = f"listing check runs of {head_sha[:12]}"
        runs = self._pages(f"{self.repo.url}/commits/{head_sha}/check-runs", {"check_name": name, "filter": "all"},
                           what, list_item="check_runs")
        try:
            found = [rec.check_run_info(r) for r in runs]
        except (TypeError, ValueError, AttributeError) as exc:
            raise GitHubError(0, f"{what}: the answer was not the JSON GitHub sends") from exc
        rec.require_ids(found, what)
        return found

    def create_check_run(self, *, name: str, head_sha: str, external_id: str, output: dict,
                         conclusion: str | None) -> int:
        payload: dict = {"name": name, "head_sha": head_sha, "external_id": external_id, "output": output}
        if conclusion:
            payload.update(status="completed", conclusion=conclusion)
        else:
            payload["status"] = "in_progress"
        what = f"creating check run {name!r} on {head_sha[:12]}"
        _, data = self._send_write("POST", f"{self.repo.url}/check-runs", what, payload)
        try:
            return int(data["id"])
        except Exception as exc:  # noqa: BLE001
            raise _error(exc, what) from exc

    def update_check_run(self, check_run_id: int, *, output: dict, conclusion: str | None = None) -> None:
        payload: dict = {"output": output}
        if conclusion:
            payload.update(status="completed", conclusion=conclusion)
        self._send_write("PATCH", f"{self.repo.url}/check-runs/{check_run_id}", f"updating check run {check_run_id}",
                         payload)

    # --- artifacts -----------------------------------------------------------------------------------

    def artifacts(self, prefix: str) -> list[rec.ArtifactInfo]:
        """Unexpired artifacts of this repository whose name starts with `prefix`, oldest first."""
        out = []
        try:
            for a in self.repo.get_artifacts():
                if not a.name.startswith(prefix) or a.expired:
                    continue
                out.append(rec.artifact_info(a.raw_data, a.created_at.isoformat() if a.created_at else ""))
        except Exception as exc:  # noqa: BLE001
            raise _error(exc, "listing workflow artifacts") from exc
        out.sort(key=lambda a: (a.created_at, a.id))
        return out

    def workflow_run(self, run_id: int) -> rec.RunInfo:
        """GET /repos/{o}/{r}/actions/runs/{run_id}: who ran which workflow file, on what event and branch."""
        try:
            _, data = self._read("GET", f"{self.repo.url}/actions/runs/{int(run_id)}",
                                 parameters={"exclude_pull_requests": "true"})
        except Exception as exc:  # noqa: BLE001
            raise _error(exc, f"reading workflow run {run_id}") from exc
        if not isinstance(data, dict) or not isinstance(data.get("id"), int):
            raise GitHubError(0, f"reading workflow run {run_id}: the answer was not the JSON GitHub sends")
        return rec.run_info(data)

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
        raise last if isinstance(last, GitHubError) else GitHubError(0, f"downloading artifact {artifact_id}: {last}")

    def delete_artifact(self, artifact_id: int) -> None:
        """Delete (retire) an artifact. Only 204 counts as done; 404 means another poll retired it. A delete
        may be sent again (it is idempotent): after no answer or a 5xx, and after a limit answer's wait."""
        what = f"deleting artifact {artifact_id}"
        for attempt in range(4):
            self.budget.before_write()
            try:
                status, headers, body = self.repo._requester.requestJson(
                    "DELETE", f"{self.repo.url}/actions/artifacts/{artifact_id}")
            except Exception as exc:  # noqa: BLE001 - no answer: try again, then say so
                error = _error(exc, what)
            else:
                if status in (204, 404):
                    return
                limited = self.budget.observe(status, headers, body or "")
                message = (body or "").strip().splitlines()[0][:200] if (body or "").strip() else ""
                error = GitHubError(status, f"{what}: HTTP {status} {message}".strip())
                if not (limited or status >= 500):
                    raise error
            if attempt == 3:
                raise error
            self.budget.clock.sleep(0.5 * 2 ** attempt)
