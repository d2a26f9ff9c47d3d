"""What people did with review comments: the GraphQL read of pull requests' review threads, as records (pure).

GitHub's REST API has no resolved state for a review thread; GraphQL's `reviewThreads { isResolved,
resolvedBy }` has. One query reads THREAD_PULLS_PER_QUERY pull requests: each one's author and, per thread
(up to THREADS_PER_PULL), whether it is resolved and by whom, its first comment (the one the thread is
about: its author, body, path, the database id of its review and up to
REACTIONS_PER_COMMENT of its 👎 reactions, `reactions(content: THUMBS_DOWN)`, with their users), and the
authors of up to REPLIES_PER_THREAD replies: one read per chunk of pull requests instead of a REST call per
comment, about 3 of GitHub's GraphQL points per pull request. The query stays under GitHub's 500,000 node
limit and every `first` is at most 100. What is cut (more threads, replies or reactions than read) is said
in `PullThreads.cut`.

GraphQL names a bot without `[bot]`: logins here take REST's form (`graphql.author_login`). Everything
read is GitHub's record of what users wrote (bodies, logins): data, judged by poll/dismissals.py.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ..core.errors import GitHubError
from ..core.vocabulary import counted
from .graphql import BAD_ANSWER

THREAD_PULLS_PER_QUERY = 25
THREADS_PER_PULL = 100
REPLIES_PER_THREAD = 10
REACTIONS_PER_COMMENT = 50

_COMMENT = ("fullDatabaseId path author { __typename login } body pullRequestReview { fullDatabaseId } "
            f"reactions(content: THUMBS_DOWN, first: {REACTIONS_PER_COMMENT}) {{ totalCount nodes {{ user {{ login }} }} }}")
# the thread's first comment with its 👎 reactions; of the replies only their authors (GitHub's points are the
# connections a query asks for: reactions on replies would cost ten times as much for nothing we use)
_PULL = (f"author {{ __typename login }} reviewThreads(first: {THREADS_PER_PULL}) {{ totalCount nodes {{ "
         f"isResolved resolvedBy {{ login }} first: comments(first: 1) {{ nodes {{ {_COMMENT} }} }} "
         f"replies: comments(first: {REPLIES_PER_THREAD}, skip: 1) {{ nodes {{ author {{ __typename login }} }} }} }} }}")


@dataclass(frozen=True)
class ThreadComment:
    id: int
    path: str
    author: str  # REST's form ("x[bot]" for a bot); "" for a deleted user
    body: str
    review_id: int | None  # the review it was posted in
    thumbs_down: tuple[str, ...]  # logins of the users who reacted 👎


@dataclass(frozen=True)
class Thread:
    resolved_by: str | None  # the login that resolved it, "" when resolved by a deleted user, None: open
    comments: tuple[ThreadComment, ...]  # the first is the comment the thread is about; then the replies (authors)


@dataclass(frozen=True)
class PullThreads:
    number: int
    author: str
    threads: tuple[Thread, ...]
    cut: tuple[str, ...] = ()  # what the read did not see (more threads, comments or reactions)


def chunks(numbers: Iterable[int]) -> list[list[int]]:
    ordered = sorted({int(n) for n in numbers})
    if any(n <= 0 for n in ordered):
        raise ValueError("pull request numbers are positive")
    return [ordered[i:i + THREAD_PULLS_PER_QUERY] for i in range(0, len(ordered), THREAD_PULLS_PER_QUERY)]


def threads_query(numbers: Iterable[int]) -> tuple[str, dict]:
    """(query, variables) reading each pull request's threads (alias p<number>)."""
    pulls = " ".join(f"p{n}: pullRequest(number: {n}) {{ ...threads }}" for n in sorted({int(n) for n in numbers}))
    return (f"query($owner: String!, $name: String!) {{ repository(owner: $owner, name: $name) {{ {pulls} }} }} "
            f"fragment threads on PullRequest {{ {_PULL} }}"), {}


def _login(node: object, *, typed: bool = True) -> str:
    if node is None:
        return ""
    if not isinstance(node, dict) or not isinstance(node.get("login"), str):
        raise ValueError("login")
    return f"{node['login']}[bot]" if typed and node.get("__typename") == "Bot" else node["login"]


def _comment(node: dict, cut: list[str]) -> ThreadComment:
    reactions = node["reactions"]
    users = tuple(_login(r["user"], typed=False) for r in reactions["nodes"] if r and r.get("user") is not None)
    if reactions["totalCount"] > len(reactions["nodes"]):
        cut.append(f"{counted(reactions['totalCount'] - len(reactions['nodes']), '👎 reaction')} not read")
    review = node.get("pullRequestReview")
    body = node["body"]
    if not isinstance(body, str):
        raise ValueError("body")
    return ThreadComment(int(node["fullDatabaseId"]), str(node["path"]), _login(node["author"]), body,
                         int(review["fullDatabaseId"]) if review and review.get("fullDatabaseId") else None, users)


def _thread(node: dict, cut: list[str]) -> Thread:
    first = tuple(_comment(c, cut) for c in node["first"]["nodes"] if c is not None)
    replies = node["replies"]["nodes"]
    if len(replies) >= REPLIES_PER_THREAD:
        cut.append(f"replies past the first {REPLIES_PER_THREAD} of a thread not read")
    repliers = tuple(ThreadComment(0, "", _login(r["author"]), "", None, ()) for r in replies if r is not None)
    if not isinstance(node["isResolved"], bool):
        raise ValueError("isResolved")
    resolved_by = (_login(node.get("resolvedBy"), typed=False) if node["isResolved"] else None)
    return Thread(resolved_by, first + repliers if first else ())


def read_threads(data: dict, numbers: Iterable[int]) -> dict[int, PullThreads]:
    """{number: its threads}; a pull request GitHub does not know is absent."""
    out: dict[int, PullThreads] = {}
    try:
        repo = data["repository"]
        for n in sorted({int(n) for n in numbers}):
            p = repo.get(f"p{n}")
            if p is None:
                continue
            cut: list[str] = []
            conn = p["reviewThreads"]
            threads = tuple(_thread(t, cut) for t in conn["nodes"] if t is not None)
            if conn["totalCount"] > len(threads):
                cut.append(f"{counted(conn['totalCount'] - len(threads), 'thread')} past the first {THREADS_PER_PULL} not read")
            out[n] = PullThreads(n, _login(p["author"]), threads, tuple(cut))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise GitHubError(0, f"reading review threads: {BAD_ANSWER}") from exc
    return out
