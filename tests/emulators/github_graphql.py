"""The GitHub emulator's GraphQL endpoint: queries validated against GitHub's own schema, answered from the
emulator's state, with GitHub's rules.

Every query is parsed and validated by graphql-core against tests/emulators/schemas/github.graphql, a subset
of GitHub's published schema (tools/derive_graphql_schema.py; its header names the source): a field, an
argument or a type that GitHub does not have is refused with GitHub's answer to a bad query (200 with
`errors`, no `data`). On top of the schema, what GitHub enforces:
- every connection needs `first` or `last`, each at most 100 ("... exceeds the `first` limit of 100
  records"), and a query may ask for at most 500,000 nodes (MAX_NODE_LIMIT_EXCEEDED);
- a PENDING review, and its comments, exist only for their author (in `reviews` and by `node(id:)`);
- a bot's `login` has no `[bot]` (REST's `github-actions[bot]` is GraphQL's Bot `github-actions`);
- a pull request number the repository does not have is `null` with a NOT_FOUND error, beside the data;
- each query costs points from its own rate budget (X-RateLimit-Resource: graphql): the requests its
  connections need, over 100, at least 1.
"""

from __future__ import annotations

import math
from pathlib import Path

from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    build_schema,
    execute,
    parse,
    validate,
)
from graphql.language import IntValueNode, VariableNode

SCHEMA = build_schema((Path(__file__).parent / "schemas" / "github.graphql").read_text())
MAX_PAGE = 100
MAX_NODES = 500_000


def _arg(field: FieldNode, name: str, variables: dict):
    for a in field.arguments or ():
        if a.name.value == name:
            if isinstance(a.value, IntValueNode):
                return int(a.value.value)
            if isinstance(a.value, VariableNode):
                return variables.get(a.value.name.value)
    return None


def _node_count(selection_set, fragments: dict, variables: dict, multiplier: int = 1) -> tuple[int, int]:
    """(nodes, connection requests) a selection asks for, as GitHub counts them: each connection's page
    size times the size of every connection above it."""
    nodes = requests = 0
    for sel in selection_set.selections if selection_set else ():
        if isinstance(sel, FragmentSpreadNode):
            n, r = _node_count(fragments[sel.name.value].selection_set, fragments, variables, multiplier)
        elif isinstance(sel, InlineFragmentNode):
            n, r = _node_count(sel.selection_set, fragments, variables, multiplier)
        else:
            page = _arg(sel, "first", variables) or _arg(sel, "last", variables)
            if page:
                n, r = _node_count(sel.selection_set, fragments, variables, multiplier * page)
                n, r = n + multiplier * page, r + multiplier
            else:
                n, r = _node_count(sel.selection_set, fragments, variables, multiplier)
        nodes, requests = nodes + n, requests + r
    return nodes, requests


def _page(items: list, first, last, after, before, name: str) -> dict:
    if first is None and last is None:
        raise GraphQLError(f"You must provide a `first` or `last` value to properly paginate the `{name}` connection.")
    for key, value in (("first", first), ("last", last)):
        if value is not None and not 0 <= value <= MAX_PAGE:
            raise GraphQLError(f"Requesting {value} records on the `{name}` connection exceeds the `{key}` limit of "
                               f"{MAX_PAGE} records.")
    start = int(after) + 1 if after not in (None, "") else 0
    end = int(before) if before not in (None, "") else len(items)
    window = list(enumerate(items))[start:end]
    if first is not None:
        window = window[:first]
    if last is not None:
        window = window[-last:] if last else []
    return {"nodes": [item for _, item in window], "totalCount": len(items),
            "pageInfo": {"hasNextPage": bool(window) and window[-1][0] < len(items) - 1,
                         "hasPreviousPage": bool(window) and window[0][0] > 0,
                         "startCursor": str(window[0][0]) if window else None,
                         "endCursor": str(window[-1][0]) if window else None}}


def actor(user: dict) -> dict:
    """A REST user as GraphQL's Actor: a Bot's login without `[bot]`."""
    if user.get("type") == "Bot":
        return {"__typename": "Bot", "id": f"BOT_{user['id']}", "login": user["login"].removesuffix("[bot]")}
    return {"__typename": "User", "id": f"U_{user['id']}", "login": user["login"]}


class Views:
    """The emulator's state as one viewer may see it."""

    def __init__(self, emu, viewer: dict) -> None:
        self.emu, self.viewer = emu, viewer

    def visible(self, review: dict) -> bool:
        return review["state"] != "PENDING" or review["user"]["login"] == self.viewer["login"]

    def review(self, r: dict) -> dict:
        comments = [{"__typename": "PullRequestReviewComment", "id": f"PRRC_{r['id']}_{i}", "path": c["path"],
                     "body": c["body"], "line": c.get("line"), "startLine": c.get("start_line")}
                    for i, c in enumerate(r.get("comments") or [])]
        return {"__typename": "PullRequestReview", "id": r["node_id"], "fullDatabaseId": str(r["id"]),
                "state": r["state"], "body": r["body"], "createdAt": r.get("created_at", "2026-11-24T03:00:00Z"),
                "author": actor(r["user"]), "commit": {"id": f"C_{r['commit_id']}", "oid": r["commit_id"]},
                "comments": lambda info, first=None, last=None, after=None, before=None, _c=comments:
                    _page(_c, first, last, after, before, "comments")}

    def pull(self, number: int) -> dict | None:
        p = self.emu.pulls.get(number)
        if p is None:
            return None
        reviews = [self.review(r) for r in self.emu._reviews.get(number, []) if self.visible(r)]

        def page(info, first=None, last=None, after=None, before=None, author=None, states=None):
            chosen = [r for r in reviews if (states is None or r["state"] in states)
                      and (author is None or r["author"]["login"] == author)]
            return _page(chosen, first, last, after, before, "reviews")

        state = "MERGED" if p["merged"] else ("OPEN" if p["state"] == "open" else "CLOSED")
        author = next((u for u in self.emu.users.values() if u["login"] == p["user"]),
                      {"login": p["user"], "id": 7, "type": "User"})
        return {"__typename": "PullRequest", "id": f"PR_{number}", "number": number, "state": state,
                "merged": p["merged"], "headRefOid": p["head_sha"], "reviews": page, "author": actor(author),
                "reviewThreads": self.emu.threads.graphql_threads(self, number, _page)}

    def repository(self, info, owner: str, name: str, followRenames: bool = True):  # noqa: N803 - GitHub's name
        if f"{owner}/{name}" != self.emu.repo:
            return None
        return {"__typename": "Repository", "id": "R_emu", "nameWithOwner": self.emu.repo,
                "pullRequest": lambda info, number: self._pull_or_error(info, number)}

    def _pull_or_error(self, info, number: int):
        pull = self.pull(number)
        if pull is None:
            raise GraphQLError(f"Could not resolve to a PullRequest with the number of {number}.",
                               extensions={"type": "NOT_FOUND"})
        return pull

    def node(self, info, id: str):  # noqa: A002 - GitHub's argument name
        for reviews in self.emu._reviews.values():
            for r in reviews:
                if r["node_id"] == id:
                    return self.review(r) if self.visible(r) else None
        return None


def serve(emu, payload, viewer: dict) -> tuple[dict, int]:
    """(the answer GitHub gives to this GraphQL request, its cost in points)."""
    if not isinstance(payload, dict) or not isinstance(payload.get("query"), str):
        return {"errors": [{"message": "A query attribute must be specified and must be a string."}]}, 1
    variables = payload.get("variables") or {}
    try:
        document = parse(payload["query"])
    except GraphQLError as exc:
        return {"errors": [{"message": exc.message, "type": "PARSE_ERROR"}]}, 1
    problems = validate(SCHEMA, document)
    if problems:
        return {"errors": [{"message": e.message, "locations": [loc._asdict() for loc in e.locations or []]}
                           for e in problems]}, 1
    fragments = {d.name.value: d for d in document.definitions if not isinstance(d, OperationDefinitionNode)}
    nodes = requests = 0
    for op in (d for d in document.definitions if isinstance(d, OperationDefinitionNode)):
        n, r = _node_count(op.selection_set, fragments, variables)
        nodes, requests = nodes + n, requests + r
    if nodes > MAX_NODES:
        return {"errors": [{"type": "MAX_NODE_LIMIT_EXCEEDED",
                            "message": f"This query requests up to {nodes:,} possible nodes which exceeds the "
                                       f"maximum limit of {MAX_NODES:,}."}]}, 1
    views = Views(emu, viewer)
    result = execute(SCHEMA, document, root_value={"repository": views.repository, "node": views.node},
                     variable_values=variables)
    body: dict = {"data": result.data}
    if result.errors:
        body["errors"] = [{"message": e.message, "path": e.path, **(e.extensions or {})} for e in result.errors]
    return body, max(1, math.ceil(requests / 100))
