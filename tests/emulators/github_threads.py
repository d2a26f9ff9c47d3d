"""The GitHub emulator's review threads: what people do with review comments, and who may write.

Every comment of a submitted review starts a thread (GitHub's `PullRequestReviewThread`); a pending review's
comments start none until it is submitted. On a thread, as GitHub allows (FACTS.md, "Added 2026-12-07"):
- reactions on any of its comments: REST GET/POST /repos/{o}/{r}/pulls/comments/{id}/reactions (`content`
  one of "+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes", else 422; one reaction of a
  kind per user: asking again answers 200 with the existing one, a new one 201), GraphQL
  `reactions(content: THUMBS_DOWN, ...)` with each reaction's `user`;
- replies: POST /repos/{o}/{r}/pulls/{n}/comments/{id}/replies (201), only to a top-level comment (a reply
  to a reply is 404, as GitHub answers); GitHub files each reply under a review of its own (COMMENTED,
  empty body), and so does the emulator;
- resolution: `resolve(comment_id, login)` (what a person does in the web UI), read through GraphQL's
  `isResolved` and `resolvedBy`. REST has no resolved state.
Permissions: GET /repos/{o}/{r}/collaborators/{user}/permission answers `permission` (admin, write, read or
none: `maintain` is shown as write and `triage` as read, the legacy base roles) and `role_name`; a login
GitHub does not know is 404. `collaborators` maps login -> role; the token's own users without a role
are `none`.
"""

from __future__ import annotations

import re

from .base import HttpError, Response

REST_TO_GRAPHQL = {"+1": "THUMBS_UP", "-1": "THUMBS_DOWN", "laugh": "LAUGH", "confused": "CONFUSED",
                   "heart": "HEART", "hooray": "HOORAY", "rocket": "ROCKET", "eyes": "EYES"}
LEGACY = {"admin": "admin", "maintain": "write", "write": "write", "triage": "read", "read": "read", "none": "none"}


class Threads:
    def __init__(self, emu) -> None:
        self.emu = emu
        self.collaborators: dict[str, str] = {}  # login -> role (admin, maintain, write, triage, read)
        self.reactions: dict[int, list[dict]] = {}  # comment id -> reactions
        self.replies: dict[int, list[dict]] = {}  # top-level comment id -> its replies, in order
        self.resolved_by: dict[int, dict] = {}  # top-level comment id -> the user who resolved its thread

    # --- control API: what people do in GitHub's web UI ---------------------------------------------
    def top_comments(self, number: int) -> list[tuple[dict, dict]]:
        """(review, comment) of every thread of the pull request, oldest first."""
        return [(r, c) for r in self.emu._reviews.get(number, []) if r["state"] != "PENDING"
                for c in r.get("comments") or []]

    def resolve(self, comment_id: int, login: str) -> None:
        with self.emu.lock:
            self._top(comment_id)
            self.resolved_by[comment_id] = self._user_of(login)

    def _user_of(self, login: str) -> dict:
        user = next((u for u in self.emu.users.values() if u["login"] == login), None)
        return user or {"login": login, "id": 9000 + len(login), "type": "User"}

    def _top(self, comment_id: int) -> tuple[int, dict, dict]:
        for number in self.emu._reviews:
            for review, comment in self.top_comments(number):
                if comment["id"] == comment_id:
                    return number, review, comment
        raise HttpError(404, self.emu.error_body(404, "Not Found"))

    def _any_comment(self, comment_id: int) -> dict:
        for number in self.emu._reviews:
            for _, comment in self.top_comments(number):
                if comment["id"] == comment_id:
                    return comment
                for reply in self.replies.get(comment["id"], []):
                    if reply["id"] == comment_id:
                        return reply
        raise HttpError(404, self.emu.error_body(404, "Not Found"))

    # --- REST -----------------------------------------------------------------------------------------
    def route(self, method: str, rest: str, query: dict, payload, user: dict) -> Response | None:
        """The answer to a request of this module's endpoints, or None when it is not one of them."""
        m = re.fullmatch(r"/pulls/comments/(\d+)/reactions", rest)
        if m:
            comment = self._any_comment(int(m[1]))
            if method == "GET":
                self.emu._query_params("reactions/list-for-pull-request-review-comment", query)
                wanted = (query.get("content") or [None])[0]
                items = [self._reaction_json(r) for r in self.reactions.get(comment["id"], [])
                         if wanted is None or r["content"] == wanted]
                return self.emu._answer("reactions/list-for-pull-request-review-comment",
                                        self.emu._page(items, query, rest))
            if method == "POST":
                self.emu._validate("reactions/create-for-pull-request-review-comment", payload)
                self.emu._creation()
                return self._react(comment, payload["content"], user)
        m = re.fullmatch(r"/pulls/(\d+)/comments/(\d+)/replies", rest)
        if m and method == "POST":
            self.emu._validate("pulls/create-reply-for-review-comment", payload)
            number, _, top = self._top(int(m[2]))
            if number != int(m[1]):
                raise HttpError(404, self.emu.error_body(404, "Not Found"))
            self.emu._creation()
            return self._reply(number, top, payload["body"], user)
        m = re.fullmatch(r"/collaborators/([^/]+)/permission", rest)
        if m and method == "GET":
            return self.emu._answer("repos/get-collaborator-permission-level", self._permission(m[1]))
        return None

    def _reaction_json(self, r: dict) -> dict:
        return {"id": r["id"], "node_id": f"REA_{r['id']}", "content": r["content"], "created_at": "2026-11-25T09:00:00Z",
                "user": _user_json(r["user"])}

    def _react(self, comment: dict, content: str, user: dict) -> Response:
        mine = next((r for r in self.reactions.get(comment["id"], [])
                     if r["content"] == content and r["user"]["login"] == user["login"]), None)
        if mine is not None:
            return Response(200, self._reaction_json(mine))
        reaction = {"id": self.emu._id(), "content": content, "user": dict(user)}
        self.reactions.setdefault(comment["id"], []).append(reaction)
        return Response(201, self._reaction_json(reaction))

    def _reply(self, number: int, top: dict, body: str, user: dict) -> Response:
        pull = self.emu.pulls[number]
        review = self.emu._review_record(pull, user, "", pull["head_sha"], "COMMENTED", [])
        self.emu._reviews[number].append(review)  # GitHub files a reply under a review of its own
        reply = {"id": self.emu._id(), "path": top["path"], "body": body, "in_reply_to_id": top["id"],
                 "user": dict(user), "pull_request_review_id": review["id"]}
        self.replies.setdefault(top["id"], []).append(reply)
        return Response(201, {"id": reply["id"], "body": body, "path": top["path"], "in_reply_to_id": top["id"],
                              "pull_request_review_id": review["id"], "user": _user_json(user),
                              "url": f"{self.emu.api_url}/repos/{self.emu.repo}/pulls/comments/{reply['id']}"})

    def _permission(self, login: str) -> Response:
        known = {u["login"] for u in self.emu.users.values()} | set(self.collaborators) | {
            p["user"] for p in self.emu.pulls.values()}
        if login not in known:
            raise HttpError(404, self.emu.error_body(404, "Not Found"))
        role = self.collaborators.get(login, "none")
        user = self._user_of(login)
        base = LEGACY[role]
        permissions = {"admin": role == "admin", "maintain": role in ("admin", "maintain"),
                       "push": base in ("admin", "write"), "triage": role in ("admin", "maintain", "write", "triage"),
                       "pull": role != "none"}
        return Response(200, {"permission": base, "role_name": role,
                              "user": {**_user_json(user), "permissions": permissions, "role_name": role}})

    # --- GraphQL --------------------------------------------------------------------------------------
    def graphql_threads(self, views, number: int, page) -> object:
        """PullRequest.reviewThreads as a resolver (views: the viewer's github_graphql.Views)."""
        from .github_graphql import actor

        def comment_node(review: dict, c: dict) -> dict:
            reactions = self.reactions.get(c["id"], [])

            def reactions_page(info, content=None, first=None, last=None, after=None, before=None, orderBy=None):  # noqa: N803
                chosen = [{"__typename": "Reaction", "id": f"REA_{r['id']}", "content": REST_TO_GRAPHQL[r["content"]],
                           "user": _graphql_user(r["user"])} for r in reactions
                          if content is None or REST_TO_GRAPHQL[r["content"]] == content]
                return page(chosen, first, last, after, before, "reactions")
            return {"__typename": "PullRequestReviewComment", "id": f"PRRC_{c['id']}", "fullDatabaseId": str(c["id"]),
                    "path": c["path"], "body": c["body"], "line": c.get("line"), "startLine": c.get("start_line"),
                    "author": actor(c.get("user") or review["user"]),
                    "pullRequestReview": lambda info, _r=review: views.review(_r), "reactions": reactions_page}

        def thread(review: dict, top: dict) -> dict:
            reviews = {r["id"]: r for r in self.emu._reviews.get(number, [])}
            comments = [comment_node(review, top)] + [comment_node(reviews[r["pull_request_review_id"]], r)
                                                      for r in self.replies.get(top["id"], [])]
            resolver = self.resolved_by.get(top["id"])
            return {"__typename": "PullRequestReviewThread", "id": f"PRRT_{top['id']}",
                    "isResolved": resolver is not None,
                    "resolvedBy": _graphql_user(resolver) if resolver else None,
                    "comments": lambda info, first=None, last=None, after=None, before=None, skip=None, _c=comments:
                        page(_c[skip or 0:], first, last, after, before, "comments")}

        threads = [thread(r, c) for r, c in self.top_comments(number)]
        return lambda info, first=None, last=None, after=None, before=None: page(
            threads, first, last, after, before, "reviewThreads")


def _user_json(user: dict) -> dict:
    login = user["login"]
    return {"login": login, "id": user.get("id", 7), "node_id": f"U_{login}", "type": user.get("type", "User"),
            "avatar_url": "https://avatars.example.invalid/u", "gravatar_id": "", "url": f"https://api.github.invalid/users/{login}",
            "html_url": f"https://github.com/{login}", "followers_url": "https://x.invalid/f", "following_url": "https://x.invalid/f",
            "gists_url": "https://x.invalid/g", "starred_url": "https://x.invalid/s",
            "subscriptions_url": "https://x.invalid/s", "organizations_url": "https://x.invalid/o",
            "repos_url": "https://x.invalid/r", "events_url": "https://x.invalid/e",
            "received_events_url": "https://x.invalid/r", "site_admin": False}


def _graphql_user(user: dict) -> dict:
    """GraphQL's `User` (reactions' and resolvedBy's type); a bot's login has no `[bot]` there."""
    return {"__typename": "User", "id": f"U_{user.get('id', 7)}", "login": user["login"].removesuffix("[bot]")}
