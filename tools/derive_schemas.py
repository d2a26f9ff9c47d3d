"""Derive the small request-schema subset the emulators validate against, from the official descriptions.

    python tools/derive_schemas.py [--shared ../shared]

Reads ../shared/specs/github/api.github.com.json and ../shared/specs/openai/openapi.json and writes
tests/emulators/schemas/{github,openai}.json: for each operation the product uses, its method, path,
parameters and request body schema, $refs resolved and descriptions dropped. Deterministic output.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GITHUB_OPS = (
    "repos/get", "pulls/list", "pulls/get", "pulls/list-files", "pulls/create-review", "pulls/list-reviews",
    "pulls/submit-review", "pulls/delete-pending-review",
    "checks/create", "checks/update", "checks/list-for-ref", "actions/list-artifacts-for-repo",
    "actions/get-artifact", "actions/download-artifact", "actions/delete-artifact", "actions/get-workflow-run",
    "actions/list-workflow-run-artifacts",
    # issue 20: what people did with our comments, and whether they may speak for the team
    "repos/get-collaborator-permission-level", "reactions/list-for-pull-request-review-comment",
    "reactions/create-for-pull-request-review-comment", "pulls/create-reply-for-review-comment",
)
# operations whose answers the GitHub emulator checks against the description before sending them
GITHUB_RESPONSES = ("actions/get-workflow-run", "actions/list-workflow-run-artifacts",
                    "actions/list-artifacts-for-repo", "repos/get-collaborator-permission-level",
                    "reactions/list-for-pull-request-review-comment")
OPENAI_OPS = ("createFile", "listFiles", "retrieveFile", "downloadFile", "deleteFile", "createBatch", "retrieveBatch",
              "listBatches", "cancelBatch")
DROP = {"description", "examples", "example", "title", "x-github", "x-octokit", "externalDocs"}


def resolve(node, spec, seen=()):
    if isinstance(node, dict):
        if "$ref" in node:
            ref = node["$ref"]
            if ref in seen:
                return {}
            target = spec
            for part in ref.lstrip("#/").split("/"):
                target = target[part.replace("~1", "/").replace("~0", "~")]
            return resolve(target, spec, (*seen, ref))
        return {k: resolve(v, spec, seen) for k, v in sorted(node.items()) if k not in DROP}
    if isinstance(node, list):
        return [resolve(v, spec, seen) for v in node]
    return node


def operations(spec: dict, wanted: tuple[str, ...], responses: tuple[str, ...] = ()) -> dict:
    out = {}
    for path, item in sorted(spec["paths"].items()):
        for method, op in sorted(item.items()):
            if not isinstance(op, dict) or op.get("operationId") not in wanted:
                continue
            body = op.get("requestBody", {}).get("content", {})
            schema = (body.get("application/json") or body.get("multipart/form-data") or {}).get("schema")
            params = [resolve(p, spec) for p in op.get("parameters", []) + item.get("parameters", [])]
            out[op["operationId"]] = {
                "method": method.upper(), "path": path,
                "parameters": [{"name": p["name"], "in": p["in"], "required": bool(p.get("required")),
                                "schema": p.get("schema", {})} for p in params],
                "body": resolve(schema, spec) if schema else None,
            }
            if op["operationId"] in responses:
                ok = resolve(op["responses"]["200"], spec)
                out[op["operationId"]]["response"] = ok["content"]["application/json"]["schema"]
    missing = set(wanted) - set(out)
    if missing:
        raise SystemExit(f"operations not found: {sorted(missing)}")
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    args = ap.parse_args()
    specs = args.shared / "specs"
    gh = operations(json.loads((specs / "github" / "api.github.com.json").read_text()), GITHUB_OPS, GITHUB_RESPONSES)
    # The live API serves compare at /compare/{basehead}; Octokit's copy names it differently (SOURCES.md).
    oa_spec = json.loads((specs / "openai" / "openapi.json").read_text())
    oa = operations(oa_spec, OPENAI_OPS)
    oa["_schemas"] = {name: resolve(oa_spec["components"]["schemas"][name], oa_spec)
                      for name in ("Batch", "OpenAIFile")}
    out = ROOT / "tests" / "emulators" / "schemas"
    out.mkdir(parents=True, exist_ok=True)
    for name, data in (("github", gh), ("openai", oa)):
        (out / f"{name}.json").write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
        print(f"wrote {out / name}.json ({len(json.dumps(data)):,} bytes)")


if __name__ == "__main__":
    main()
