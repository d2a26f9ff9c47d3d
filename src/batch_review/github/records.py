"""What GitHub's objects are to us: plain records read from its JSON answers (pure: no client import).

github/api.py (REST) and github/graphql.py (GraphQL) fill them; targets, publish, store and posting read them, so none of those needs PyGithub
loaded to know what a pull request, review, check run, artifact or workflow run is. Every field is what
GitHub said: titles, descriptions, review bodies, logins and branch names are other people's words, and
nothing here makes them safe to show (present.py, compose.py and markers.py do, where they are used).
Missing fields read as empty; an id that is not an integer (a bool included) reads as None.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..core.errors import GitHubError

DEFAULT_GITHUB_API_URL = "https://api.github.com"

ONE_PENDING_REVIEW = "one pending review"  # GitHub's 422: "User can only have one pending review per pull request"


@dataclass(frozen=True)
class PullInfo:
    number: int
    title: str
    state: str
    merged: bool
    draft: bool
    labels: tuple[str, ...]
    author: str
    head_sha: str
    head_ref: str
    base_sha: str
    base_ref: str
    body: str = ""  # the description, written by the author


@dataclass(frozen=True)
class ReviewInfo:
    id: int
    body: str
    commit_id: str | None
    author: str
    author_type: str = ""
    state: str = ""  # PENDING (visible to its author only), COMMENTED, ...
    node_id: str = ""  # GraphQL's id of the review
    created_at: str = ""
    comments: tuple[tuple[str, str], ...] | None = None  # (path, body) of each comment, when they were read

    @property
    def pending(self) -> bool:
        return self.state == "PENDING"


@dataclass(frozen=True)
class PullSnapshot:
    """One pull request as GitHub showed it in one read: state, head, and every review visible to us (a
    PENDING review only to its author), oldest first."""

    number: int
    state: str  # OPEN, CLOSED, MERGED
    merged: bool
    head_sha: str
    reviews: tuple[ReviewInfo, ...] = ()

    @property
    def open(self) -> bool:
        return self.state == "OPEN"


@dataclass(frozen=True)
class CheckRunInfo:
    id: int
    name: str
    head_sha: str
    external_id: str | None
    annotations_count: int
    status: str
    app_slug: str = ""  # the app that created it: "github-actions" for the workflow token


@dataclass(frozen=True)
class ArtifactInfo:
    id: int
    name: str
    created_at: str
    expired: bool
    size: int
    run_id: int | None
    repository_id: int | None
    head_repository_id: int | None
    head_sha: str | None
    head_branch: str | None = None
    has_workflow_run: bool = True  # False: the listing has no workflow_run (older GitHub Enterprise Server)


@dataclass(frozen=True)
class RunInfo:
    """What GitHub says about the workflow run that uploaded an artifact (fields of actions/get-workflow-run)."""

    id: int
    event: str
    path: str
    head_branch: str | None
    repository_id: int | None
    head_repository_id: int | None


def pull_info(p: dict) -> PullInfo:
    """A pull request from its JSON (the author's title and description kept as given)."""
    head, base, user = p.get("head") or {}, p.get("base") or {}, p.get("user") or {}
    return PullInfo(
        number=int(p["number"]), title=p.get("title") or "", state=p.get("state") or "",
        merged=bool(p.get("merged_at")), draft=bool(p.get("draft")),
        labels=tuple(label.get("name", "") for label in p.get("labels") or []),
        author=user.get("login") or "", head_sha=head.get("sha") or "", head_ref=head.get("ref") or "",
        base_sha=base.get("sha") or "", base_ref=base.get("ref") or "", body=str(p.get("body") or ""),
    )


def review_info(r: dict) -> ReviewInfo:
    user = r.get("user") if isinstance(r.get("user"), dict) else {}
    return ReviewInfo(r.get("id"), r.get("body") or "", r.get("commit_id"), str(user.get("login") or ""),
                      str(user.get("type") or ""), str(r.get("state") or ""), str(r.get("node_id") or ""))


def check_run_info(r: dict) -> CheckRunInfo:
    return CheckRunInfo(r.get("id"), r.get("name") or "", r.get("head_sha") or "", r.get("external_id"),
                        int((r.get("output") or {}).get("annotations_count") or 0), r.get("status") or "",
                        str((r.get("app") or {}).get("slug") or ""))


def artifact_info(raw: dict, created_at: str) -> ArtifactInfo:
    """An artifact of the listing, with the run GitHub says uploaded it (absent on older GHES)."""
    run = raw.get("workflow_run") if isinstance(raw.get("workflow_run"), dict) else {}
    return ArtifactInfo(
        id=raw.get("id"), name=str(raw.get("name") or ""), created_at=created_at, expired=bool(raw.get("expired")),
        size=int(raw.get("size_in_bytes") or 0), run_id=int_or_none(run.get("id")),
        repository_id=int_or_none(run.get("repository_id")), head_repository_id=int_or_none(run.get("head_repository_id")),
        head_sha=run.get("head_sha"), head_branch=run.get("head_branch"), has_workflow_run="workflow_run" in raw)


def run_info(data: dict) -> RunInfo:
    """A workflow run (actions/get-workflow-run) whose id is an integer."""
    repo, head = data.get("repository"), data.get("head_repository")
    return RunInfo(
        id=data["id"], event=str(data.get("event") or ""), path=str(data.get("path") or ""),
        head_branch=data.get("head_branch") if isinstance(data.get("head_branch"), str) else None,
        repository_id=int_or_none(repo.get("id")) if isinstance(repo, dict) else None,
        head_repository_id=int_or_none(head.get("id")) if isinstance(head, dict) else None,
    )


def int_or_none(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def next_link(headers: dict) -> str | None:
    link = next((v for k, v in (headers or {}).items() if k.lower() == "link"), "") or ""
    for part in link.split(","):
        url, _, rel = part.partition(";")
        if 'rel="next"' in rel:
            return url.strip().strip("<>")
    return None


def answer_message(data: object, fallback: object = "") -> str:
    """The `message` of one of GitHub's error answers."""
    return str((data.get("message") if isinstance(data, dict) else None) or fallback or "")


def http_error(status: int, data: object, fallback: object, headers: dict | None, what: str) -> GitHubError:
    """One line for one of GitHub's error answers: what failed, the status, GitHub's message and errors,
    and Retry-After when it is given."""
    lines = answer_message(data, fallback).strip().splitlines()
    detail = lines[0] if lines else ""
    errors = data.get("errors") if isinstance(data, dict) else None
    if isinstance(errors, list) and errors:
        detail += ": " + "; ".join(str(e.get("message", e) if isinstance(e, dict) else e) for e in errors)
    retry = str({str(k).lower(): v for k, v in (headers or {}).items()}.get("retry-after", ""))
    return GitHubError(status, f"{what}: HTTP {status} {detail}".strip(),
                       retry_after=float(retry) if retry.isdigit() else None)


def require_ids(items: list, what: str) -> None:
    """A listing whose items have no integer ids is not GitHub's answer: never read as "nothing there"."""
    if any(not isinstance(item.id, int) for item in items):
        raise GitHubError(0, f"{what}: the answer was not the JSON GitHub sends")


def is_pending_review_conflict(exc: GitHubError) -> bool:
    return exc.status == 422 and ONE_PENDING_REVIEW in str(exc).lower()
