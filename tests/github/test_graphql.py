"""GraphQL against the emulator: what GitHub refuses, the emulator refuses; what we send, it accepts.

An emulator is only worth what it rejects: a field GitHub does not have, a connection without `first` or
beyond 100, a query over 500,000 nodes, another user's pending review. The reads the product makes
(github/graphql.py) go through the real PyGithub requester.
"""

from __future__ import annotations

import pytest
import requests

from batch_review.core.errors import GitHubError
from batch_review.github import graphql
from batch_review.github.api import GitHubAPI

from ..conftest import GITHUB_TOKEN

HEAD, BASE = "a" * 40, "b" * 40
DIFF = "diff --git a/app.py b/app.py\n--- a/app.py\n+++ b/app.py\n@@ -1,2 +1,2 @@\n x\n-y\n+z\n"
OTHER_TOKEN = "ghp_someoneelse0123456789"


@pytest.fixture
def gh(github_emu, monkeypatch) -> GitHubAPI:
    monkeypatch.setenv("BATCH_REVIEW_WRITE_INTERVAL", "0")
    for n in (1, 2):
        github_emu.add_pull(n, head_sha=HEAD, base_sha=BASE, diff=DIFF)
    github_emu.add_user(OTHER_TOKEN, "mallory")
    return GitHubAPI(GITHUB_TOKEN, "acme/widgets", github_emu.api_url)


def post(emu, query: str, variables: dict | None = None, token: str = GITHUB_TOKEN) -> dict:
    resp = requests.post(f"{emu.api_url}/graphql", json={"query": query, "variables": variables or {}},
                         headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert resp.status_code == 200
    return resp.json()


REPO = 'repository(owner: "acme", name: "widgets")'


@pytest.mark.parametrize(("query", "says"), [
    (f"{{ {REPO} {{ pullRequest(number: 1) {{ reviews(first: 5) {{ nodes {{ bodyHTML }} }} }} }} }}",
     "Cannot query field 'bodyHTML'"),  # in GitHub's schema, not in the subset we use: we never ask for it
    (f"{{ {REPO} {{ pullRequest(number: 1) {{ reviewz(first: 5) {{ totalCount }} }} }} }}", "Cannot query field"),
    (f"{{ {REPO} {{ pullRequest(number: \"1\") {{ number }} }} }}", "Int cannot represent"),
    (f"{{ {REPO} {{ pullRequest(number: 1) {{ reviews {{ totalCount }} }} }} }}", "must provide a `first` or `last`"),
    (f"{{ {REPO} {{ pullRequest(number: 1) {{ reviews(first: 101) {{ totalCount }} }} }} }}",
     "exceeds the `first` limit of 100"),
    ("{ node(id: \"x\") { id body } }", "Cannot query field 'body' on type 'Node'"),
])
def test_what_github_refuses_the_emulator_refuses(gh, github_emu, query, says):
    answer = post(github_emu, query)
    assert "data" not in answer or answer["data"] is None or answer.get("errors")
    assert any(says in e["message"] for e in answer["errors"]), answer


def test_a_query_over_500000_nodes_is_refused(gh, github_emu):
    pulls = " ".join(f"p{n}: pullRequest(number: 1) {{ reviews(first: 100) {{ nodes {{ comments(first: 100) "
                     "{ totalCount } } } }" for n in range(60))
    answer = post(github_emu, f"{{ {REPO} {{ {pulls} }} }}")
    assert answer["errors"][0]["type"] == "MAX_NODE_LIMIT_EXCEEDED" and "data" not in answer


def test_the_products_queries_are_valid_and_within_the_limits(gh, github_emu):
    numbers = list(range(1, graphql.PULLS_PER_QUERY + 1))
    query, variables = graphql.pulls_query(numbers, [f"PRR_{i}" for i in range(graphql.PULLS_PER_QUERY)])
    answer = post(github_emu, query, {"owner": "acme", "name": "widgets", **variables})
    assert all(e.get("type") == "NOT_FOUND" for e in answer.get("errors", []))  # only #3.. do not exist
    query, variables = graphql.page_query(1, "0")
    assert "errors" not in post(github_emu, query, {"owner": "acme", "name": "widgets", **variables})


def test_a_pending_review_is_seen_by_its_author_only_and_a_bots_login_has_no_suffix(gh, github_emu):
    mine = gh.create_pending_review(1, HEAD, "our claim", [{"path": "app.py", "line": 2, "side": "RIGHT",
                                                           "body": "an inline comment"}])
    requests.post(f"{github_emu.api_url}/repos/acme/widgets/pulls/1/reviews", json={"body": "mallory's draft"},
                  headers={"Authorization": f"Bearer {OTHER_TOKEN}"}, timeout=10).raise_for_status()
    snaps, (claimed,) = gh.pull_snapshots([1, 2], (mine.node_id,))
    assert [(r.author, r.author_type, r.state) for r in snaps[1].reviews] == [("github-actions[bot]", "Bot", "PENDING")]
    assert claimed.comments == (("app.py", "an inline comment"),) and claimed.id == mine.id
    answer = post(github_emu, "query($id: ID!) { node(id: $id) { ... on PullRequestReview { body author { login } } } }",
                  {"id": mine.node_id})
    assert answer["data"]["node"]["author"]["login"] == "github-actions"  # GraphQL's spelling
    theirs = post(github_emu, "query($id: ID!) { node(id: $id) { id } }", {"id": mine.node_id}, token=OTHER_TOKEN)
    assert theirs["data"]["node"] is None  # our pending review does not exist for anyone else


def test_reviews_beyond_one_page_are_all_read(gh, github_emu):
    for i in range(230):
        github_emu.add_review(1, f"review {i}", login="octocat")
    snaps, _ = gh.pull_snapshots([1])
    assert [r.body for r in snaps[1].reviews] == [f"review {i}" for i in range(230)]
    assert len([e for e in github_emu.log if e.path == "/graphql"]) == 3  # 100 + 100 + 30


def test_an_answer_that_is_not_graphqls_is_an_error_not_an_empty_listing(gh, github_emu):
    github_emu.inject("POST", r"/graphql$", "malformed", times=10)
    with pytest.raises(GitHubError, match="reading pull requests"):
        gh.pull_snapshots([1])
    github_emu.faults.clear()
    github_emu.inject("POST", r"/graphql$", 200, body={"data": {"repository": {"p1": {"number": 1}}}})
    with pytest.raises(GitHubError, match="not the JSON GitHub sends"):
        gh.pull_snapshots([1])
