"""Derive the small GraphQL schema subset the GitHub emulator validates queries against, from GitHub's schema.

    npm pack @octokit/graphql-schema && tar xzf octokit-graphql-schema-*.tgz
    python tools/derive_graphql_schema.py package/schema.graphql

GitHub publishes its GraphQL schema (the public schema, `schema.graphql`); the npm package
@octokit/graphql-schema ships it unchanged, updated automatically (MIT). This keeps the types and fields
batch-review queries, with every kept field's arguments and types exactly as GitHub declares them, and
writes tests/emulators/schemas/github.graphql (descriptions dropped, deterministic). A field or type that
GitHub renames or removes makes this script fail, and the emulator would then refuse our queries.
"""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

from graphql import parse, print_ast
from graphql.language import (
    DocumentNode,
    EnumTypeDefinitionNode,
    InputObjectTypeDefinitionNode,
    InterfaceTypeDefinitionNode,
    ObjectTypeDefinitionNode,
    ScalarTypeDefinitionNode,
)

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "tests" / "emulators" / "schemas" / "github.graphql"
ACTOR_FIELDS = ("login",)
# type -> the fields kept (object types and interfaces); enums and scalars are kept whole
KEEP: dict[str, tuple[str, ...]] = {
    "Query": ("node", "repository"),
    "Node": ("id",),
    "Actor": ACTOR_FIELDS,
    "Repository": ("id", "nameWithOwner", "pullRequest"),
    "PullRequest": ("id", "number", "state", "merged", "headRefOid", "reviews", "author", "reviewThreads"),
    "PullRequestReviewThreadConnection": ("nodes", "pageInfo", "totalCount"),
    "PullRequestReviewThread": ("id", "isResolved", "resolvedBy", "comments"),
    "ReactionConnection": ("nodes", "pageInfo", "totalCount"),
    "Reaction": ("id", "content", "user"),
    "PullRequestReviewConnection": ("nodes", "pageInfo", "totalCount"),
    "PageInfo": ("endCursor", "hasNextPage", "hasPreviousPage", "startCursor"),
    "PullRequestReview": ("id", "fullDatabaseId", "state", "body", "createdAt", "author", "commit", "comments"),
    "PullRequestReviewCommentConnection": ("nodes", "pageInfo", "totalCount"),
    "PullRequestReviewComment": ("id", "path", "body", "line", "startLine", "fullDatabaseId", "author",
                                 "pullRequestReview", "reactions"),
    "Commit": ("id", "oid"),
    "Bot": ("id", *ACTOR_FIELDS),
    "User": ("id", *ACTOR_FIELDS),
    "Organization": ("id", *ACTOR_FIELDS),
    "Mannequin": ("id", *ACTOR_FIELDS),
    "EnterpriseUserAccount": ("id", *ACTOR_FIELDS),
}
ENUMS = ("PullRequestState", "PullRequestReviewState", "ReactionContent", "ReactionOrderField", "OrderDirection")
INPUTS = ("ReactionOrder",)  # input objects an argument of a kept field takes, kept whole
SCALARS = ("BigInt", "DateTime", "GitObjectID")


def _strip(node):
    """The node without descriptions (of itself, its fields and their arguments)."""
    kwargs = {k: getattr(node, k) for k in node.keys if k not in ("loc", "description")}
    return type(node)(**kwargs)


def derive(full: DocumentNode) -> str:
    found: dict[str, object] = {}
    for definition in full.definitions:
        name = getattr(getattr(definition, "name", None), "value", None)
        if isinstance(definition, ObjectTypeDefinitionNode | InterfaceTypeDefinitionNode) and name in KEEP:
            fields = {f.name.value: f for f in definition.fields}
            missing = set(KEEP[name]) - set(fields)
            if missing:
                raise SystemExit(f"{name}: GitHub's schema has no field(s) {sorted(missing)}")
            kept = [_strip_field(fields[f]) for f in sorted(KEEP[name])]
            interfaces = [i for i in definition.interfaces or ()  # an interface whose kept fields this type keeps
                          if i.name.value in KEEP and set(KEEP[i.name.value]) <= set(KEEP[name])]
            found[name] = type(definition)(name=definition.name, fields=kept, interfaces=interfaces,
                                           directives=[])
        elif isinstance(definition, EnumTypeDefinitionNode) and name in ENUMS:
            found[name] = EnumTypeDefinitionNode(name=definition.name, directives=[],
                                                 values=[_strip(v) for v in definition.values or ()])
        elif isinstance(definition, InputObjectTypeDefinitionNode) and name in INPUTS:
            found[name] = InputObjectTypeDefinitionNode(name=definition.name, directives=[],
                                                        fields=[_strip(f) for f in definition.fields])
        elif isinstance(definition, ScalarTypeDefinitionNode) and name in SCALARS:
            found[name] = ScalarTypeDefinitionNode(name=definition.name, directives=[])
    missing = (set(KEEP) | set(ENUMS) | set(INPUTS) | set(SCALARS)) - set(found)
    if missing:
        raise SystemExit(f"GitHub's schema has no type(s) {sorted(missing)}")
    return "\n\n".join(print_ast(found[name]) for name in sorted(found)) + "\n"


def _strip_field(field):
    args = [_strip(a) for a in field.arguments or ()]
    kwargs = {k: getattr(field, k) for k in field.keys if k not in ("loc", "description", "arguments")}
    kwargs["directives"] = [d for d in field.directives or () if d.name.value == "deprecated"]
    return type(field)(arguments=args, **kwargs)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("schema", type=Path, help="schema.graphql of @octokit/graphql-schema")
    args = ap.parse_args()
    text = args.schema.read_text(encoding="utf-8")
    sha = hashlib.sha256(text.encode()).hexdigest()
    header = ("# A subset of GitHub's public GraphQL schema: the types and fields batch-review queries, exactly as\n"
              "# declared there (descriptions dropped). Derived by tools/derive_graphql_schema.py from schema.graphql\n"
              "# of the npm package @octokit/graphql-schema (MIT), which ships GitHub's schema unchanged.\n"
              f"# Source sha256: {sha}\n\n")
    OUT.write_text(header + derive(parse(text)), encoding="utf-8")
    print(f"wrote {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
