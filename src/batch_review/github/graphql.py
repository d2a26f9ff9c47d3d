"""The GraphQL reads poll and submit make, as query text and as records (pure: no client, no I/O).

One query reads up to PULLS_PER_QUERY pull requests: state, head and every review visible to us (body,
author, state, creation time; a PENDING review is visible to its author only), so a pull request whose
review is already posted costs a share of one request and no write of its own. The check after a claim
reads the same plus our claimed pending reviews, with their comments, by node id. A pull request with
more than REVIEWS_PER_PAGE reviews is completed by follow-up queries (`page_query`). Every connection
asks for `first` <= 100, as GitHub requires, and a query stays far under GitHub's 500,000-node limit
(PULLS_PER_QUERY x 100 reviews + CLAIMS_PER_QUERY x 100 comments).

GraphQL names a bot `github-actions` where REST says `github-actions[bot]`: `_author` gives REST's form, so
identities compare the same whichever API read them. Every answer is checked for the shapes read; anything
else is "not the JSON GitHub sends", never a guess.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ..core.errors import GitHubError
from .records import PullSnapshot, ReviewInfo

PULLS_PER_QUERY = 25
REVIEWS_PER_PAGE = 100
COMMENTS_PER_REVIEW = 100  # at most MAX_INLINE (30) are ever posted per review
BAD_ANSWER = "the answer was not the JSON GitHub sends"

_REVIEW = "id fullDatabaseId state body createdAt author { __typename login } commit { oid }"
_PULL = (f"number state merged headRefOid reviews(first: {REVIEWS_PER_PAGE}) "
         f"{{ pageInfo {{ hasNextPage endCursor }} nodes {{ ...review }} }}")


def chunks(numbers: Iterable[int], claims: Sequence[str] = ()) -> list[tuple[list[int], tuple[str, ...]]]:
    """The queries one read takes: PULLS_PER_QUERY pull requests each, the claims asked in the first."""
    ordered = _numbers(numbers)
    parts = [ordered[i:i + PULLS_PER_QUERY] for i in range(0, len(ordered), PULLS_PER_QUERY)] or [[]]
    out = [(chunk, tuple(claims) if i == 0 else ()) for i, chunk in enumerate(parts)]
    return [(chunk, asked) for chunk, asked in out if chunk or asked]


def data_of(body: object, what: str) -> dict | None:
    """A GraphQL answer's data; a GitHubError for its errors (a pull request number GitHub does not know is
    null beside the others, not an error); None when the body is not GraphQL's shape at all."""
    if not isinstance(body, dict):
        return None
    errors = body.get("errors")
    if errors and not (isinstance(errors, list) and all(isinstance(e, dict) and e.get("type") == "NOT_FOUND"
                                                        for e in errors)):
        shown = errors[:3] if isinstance(errors, list) else [errors]
        detail = "; ".join(str(e.get("message", e) if isinstance(e, dict) else e) for e in shown)
        raise GitHubError(0, f"{what}: GraphQL: {detail}")
    return body["data"] if isinstance(body.get("data"), dict) else None


def _numbers(numbers: Iterable[int]) -> list[int]:
    out = sorted({int(n) for n in numbers})
    if any(n <= 0 for n in out):
        raise ValueError("pull request numbers are positive")
    return out


def pulls_query(numbers: Iterable[int], claims: Sequence[str] = ()) -> tuple[str, dict]:
    """(query, variables) reading each pull request (alias p<number>) and each claimed review by node id
    (alias c<i>, with its comments)."""
    pulls = " ".join(f"p{n}: pullRequest(number: {n}) {{ ...pull }}" for n in _numbers(numbers))
    params = "".join(f", $c{i}: ID!" for i in range(len(claims)))
    nodes = " ".join(f"c{i}: node(id: $c{i}) {{ ... on PullRequestReview {{ ...review comments(first: "
                     f"{COMMENTS_PER_REVIEW}) {{ totalCount nodes {{ path body }} }} }} }}" for i in range(len(claims)))
    query = (f"query($owner: String!, $name: String!{params}) {{ repository(owner: $owner, name: $name) {{ {pulls} }} "
             f"{nodes} }} fragment pull on PullRequest {{ {_PULL} }} fragment review on PullRequestReview {{ {_REVIEW} }}")
    return query, {f"c{i}": node for i, node in enumerate(claims)}


def page_query(number: int, after: str) -> tuple[str, dict]:
    """(query, variables) for the next page of one pull request's reviews."""
    (n,) = _numbers([number])
    query = (f"query($owner: String!, $name: String!, $after: String!) {{ repository(owner: $owner, name: $name) "
             f"{{ pullRequest(number: {n}) {{ reviews(first: {REVIEWS_PER_PAGE}, after: $after) {{ pageInfo "
             f"{{ hasNextPage endCursor }} nodes {{ {_REVIEW} }} }} }} }} }}")
    return query, {"after": after}


def _author(node: object) -> tuple[str, str]:
    """(login as REST writes it, type): a Bot's GraphQL login has no `[bot]`; a deleted user is None."""
    if node is None:
        return "", ""
    if not isinstance(node, dict) or not isinstance(node.get("login"), str):
        raise ValueError("author")
    kind = str(node.get("__typename") or "")
    return (f"{node['login']}[bot]" if kind == "Bot" else node["login"]), kind


def review_of(node: dict) -> ReviewInfo:
    """One PullRequestReview node as a ReviewInfo (REST's field meanings)."""
    author, kind = _author(node.get("author"))
    commit = node.get("commit")
    comments = None
    if "comments" in node:
        conn = node["comments"]
        comments = tuple((str(c["path"]), str(c["body"])) for c in conn["nodes"])
        if conn["totalCount"] != len(comments):
            raise ValueError("comments not all read")
    body = node["body"]
    if not isinstance(body, str) or not isinstance(node["state"], str) or not isinstance(node["id"], str):
        raise ValueError("review")
    return ReviewInfo(id=int(node["fullDatabaseId"]), body=body, commit_id=(commit or {}).get("oid"), author=author,
                      author_type=kind, state=node["state"], node_id=node["id"], created_at=str(node["createdAt"]),
                      comments=comments)


def page_of(conn: dict) -> tuple[list[ReviewInfo], str | None]:
    """A reviews connection: (its reviews, the cursor of the next page or None)."""
    reviews = [review_of(n) for n in conn["nodes"] if n is not None]
    info = conn["pageInfo"]
    if info["hasNextPage"] is not True:
        return reviews, None
    if not isinstance(info["endCursor"], str):
        raise ValueError("cursor")
    return reviews, info["endCursor"]


def read_pulls(data: dict, numbers: Iterable[int], claims: Sequence[str] = ()
               ) -> tuple[dict[int, tuple[PullSnapshot, str | None]], list[ReviewInfo | None]]:
    """({number: (snapshot, next page cursor)}, claimed reviews in order, None where GitHub shows none).
    A pull request GitHub does not know is absent from the mapping."""
    try:
        repo = data["repository"]
        out: dict[int, tuple[PullSnapshot, str | None]] = {}
        for n in _numbers(numbers):
            p = repo.get(f"p{n}")
            if p is None:
                continue
            reviews, cursor = page_of(p["reviews"])
            if p["number"] != n or not isinstance(p["headRefOid"], str) or p["state"] not in ("OPEN", "CLOSED", "MERGED"):
                raise ValueError("pull request")
            out[n] = (PullSnapshot(n, p["state"], p["merged"] is True, p["headRefOid"], tuple(reviews)), cursor)
        claimed = [None if data.get(f"c{i}") in (None, {}) else review_of(data[f"c{i}"]) for i in range(len(claims))]
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise GitHubError(0, f"reading pull requests: {BAD_ANSWER}") from exc
    return out, claimed
