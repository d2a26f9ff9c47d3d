"""Review threads, reactions and permissions against the GitHub emulator (github/threads.py, api.py).

What people do with a review comment is read in one GraphQL query per chunk of pull requests (resolved
state and who resolved, replies, 👎 reactions with their users), and a user's role through REST's
collaborators/{user}/permission. The emulator holds the same rules GitHub does: the reactions a REST client
may post (anything else is 422), a reply only to a top-level comment, `maintain` shown as `write`.
"""

from __future__ import annotations

import pytest
from github import Auth, Github

from batch_review.github import threads
from batch_review.github.api import GitHubAPI

from ..conftest import GITHUB_TOKEN

HEAD, BASE = "a" * 40, "b" * 40
DIFF = "diff --git a/app.py b/app.py\n--- a/app.py\n+++ b/app.py\n@@ -1,2 +1,2 @@\n x\n-y\n+z\n"
ALICE, BOB = "ghp_alice000000000000000000", "ghp_bob00000000000000000000"


@pytest.fixture
def gh(github_emu, monkeypatch) -> GitHubAPI:
    monkeypatch.setenv("BATCH_REVIEW_WRITE_INTERVAL", "0")
    github_emu.add_pull(1, head_sha=HEAD, base_sha=BASE, diff=DIFF, user="alice")
    github_emu.add_user(ALICE, "alice")
    github_emu.add_user(BOB, "bob")
    return GitHubAPI(GITHUB_TOKEN, "acme/widgets", github_emu.api_url)


def bot_review(gh: GitHubAPI, body: str = "<!-- review -->\nsee inline") -> int:
    """Our review with one inline comment, posted and submitted; the comment's id."""
    r = gh.create_pending_review(1, HEAD, body, [{"path": "app.py", "line": 2, "side": "RIGHT", "body": "x / 0"}])
    gh.submit_review(1, r.id)
    return gh.review_threads([1])[1].threads[0].comments[0].id


def as_user(emu, token: str):
    return Github(auth=Auth.Token(token), base_url=emu.api_url).get_repo("acme/widgets")


def react(emu, token: str, comment_id: int, content: str) -> int:
    """A reaction as a person's client posts it (POST .../pulls/comments/{id}/reactions); the status."""
    import requests

    url = f"{emu.api_url}/repos/acme/widgets/pulls/comments/{comment_id}/reactions"
    return requests.post(url, json={"content": content}, headers={"Authorization": f"Bearer {token}"},
                         timeout=10).status_code


def test_reactions_replies_and_resolution_are_read_in_one_query(gh, github_emu):
    comment_id = bot_review(gh)
    pull = as_user(github_emu, ALICE).get_pull(1)
    assert react(github_emu, ALICE, comment_id, "-1") == react(github_emu, BOB, comment_id, "-1") == 201
    assert react(github_emu, BOB, comment_id, "+1") == 201  # not a dismissal: not read
    pull.create_review_comment_reply(comment_id, "Not a bug: x is never 0 here")
    github_emu.threads.resolve(comment_id, "bob")
    before = github_emu.graphql_remaining
    (thread,) = gh.review_threads([1])[1].threads
    # one query for all of it: GitHub's points are its connections' requests over 100 (1 thread page, 100
    # first comments, 100 replies pages, 100 reactions pages: 4 points, not 12 with reactions on replies too)
    assert before - github_emu.graphql_remaining == 4
    assert thread.resolved_by == "bob"
    first, reply = thread.comments
    assert (first.author, first.thumbs_down) == ("github-actions[bot]", ("alice", "bob"))
    assert (reply.author, reply.thumbs_down) == ("alice", ())  # of a reply only its author is read
    assert gh.review_threads([1])[1].author == "alice"


def test_an_open_thread_without_reactions_reads_as_nothing_done(gh):
    bot_review(gh)
    (thread,) = gh.review_threads([1])[1].threads
    assert thread.resolved_by is None and len(thread.comments) == 1 and thread.comments[0].thumbs_down == ()


def test_reactions_github_does_not_have_are_refused(gh, github_emu):
    import requests

    comment_id = bot_review(gh)
    url = f"{github_emu.api_url}/repos/acme/widgets/pulls/comments/{comment_id}/reactions"
    answer = requests.post(url, json={"content": "thumbsdown"}, headers={"Authorization": f"Bearer {ALICE}"},
                           timeout=10)
    assert answer.status_code == 422
    again = [requests.post(url, json={"content": "-1"}, headers={"Authorization": f"Bearer {ALICE}"}, timeout=10)
             for _ in range(2)]
    assert [a.status_code for a in again] == [201, 200]  # one reaction of a kind per user
    listed = requests.get(url, params={"content": "-1"}, headers={"Authorization": f"Bearer {ALICE}"}, timeout=10)
    assert [r["user"]["login"] for r in listed.json()] == ["alice"]


def test_a_reply_to_a_reply_is_refused_as_github_does(gh, github_emu):
    from github import GithubException

    comment_id = bot_review(gh)
    pull = as_user(github_emu, ALICE).get_pull(1)
    reply = pull.create_review_comment_reply(comment_id, "no")
    with pytest.raises(GithubException) as caught:
        pull.create_review_comment_reply(reply.id, "nested")
    assert caught.value.status == 404


@pytest.mark.parametrize(("role", "permission"), [("admin", "admin"), ("maintain", "write"), ("write", "write"),
                                                  ("triage", "read"), ("read", "read"), (None, "none")])
def test_a_users_permission_is_the_legacy_base_role(gh, github_emu, role, permission):
    if role:
        github_emu.threads.collaborators["bob"] = role
    assert gh.permission("bob") == permission


def test_a_user_github_does_not_know_has_no_permission_and_is_asked_once(gh, github_emu):
    assert gh.repository_id  # the repository read first
    before = github_emu.rate_remaining
    assert gh.permission("no-such-user-x") == "none"
    assert gh.permission("no-such-user-x") == "none"
    assert github_emu.rate_remaining >= before - 1


def test_a_hostile_login_is_sent_quoted_in_the_path(gh, github_emu):
    """A login comes from GitHub, but a path built from it must not be able to leave the endpoint."""
    assert gh.permission("../../../../pulls") == "none"


def test_the_threads_query_stays_within_githubs_node_limit():
    from graphql import OperationDefinitionNode, parse, validate

    from tests.emulators.github_graphql import MAX_NODES, SCHEMA, _node_count

    query, _ = threads.threads_query(range(1, threads.THREAD_PULLS_PER_QUERY + 1))
    document = parse(query)
    assert validate(SCHEMA, document) == []
    fragments = {d.name.value: d for d in document.definitions if not isinstance(d, OperationDefinitionNode)}
    (op,) = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    nodes, requests = _node_count(op.selection_set, fragments, {})
    assert nodes <= MAX_NODES and requests / threads.THREAD_PULLS_PER_QUERY <= 301  # about 3 points a pull
