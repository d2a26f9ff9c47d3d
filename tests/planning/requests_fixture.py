"""Shared pieces of the planning tests: a small diff, one file's requests, a request builder, an added file's
diff, a request's exact token count."""

from __future__ import annotations

import json

from batch_review.planning.builder import RequestBuilder
from batch_review.planning.packing import FileItem

from .test_packing import requests_of

DIFF = """\
diff --git a/app.py b/app.py
index 1111111..2222222 100644
--- a/app.py
+++ b/app.py
@@ -10,4 +10,5 @@ def handler(request):
     user = request.user
-    if user:
+    if user is not None:
+        audit(user)
         return ok()
     return denied()
"""


def file_requests(b, key, index, fd, extra=(), *, max_file_chars=None):
    """One file's requests on their own, as request_unit: file makes them: (specs, why not reviewed)."""
    specs, skipped = requests_of(lambda model: b, key, [FileItem(index, fd, b.model, tuple(extra))], "",
                                   per_file=True, max_file_chars=max_file_chars)
    return specs, (skipped[0][1] if skipped else None)


def builder(endpoint="/v1/chat/completions", max_input_tokens=16000, **kw):
    return RequestBuilder(model="gpt-5-mini", endpoint=endpoint, instructions="Find bugs.",
                          max_output_tokens=2048, max_input_tokens=max_input_tokens, **kw)


def added_file_diff(path: str, text: str) -> str:
    lines = text.splitlines()
    return (f"diff --git a/{path} b/{path}\nnew file mode 100644\n--- /dev/null\n+++ b/{path}\n"
            f"@@ -0,0 +1,{len(lines)} @@\n" + "".join(f"+{ln}\n" for ln in lines))


def request_tokens(enc, body: dict) -> int:
    texts = [m["content"] for m in body["messages"]] + [json.dumps(body["response_format"]["json_schema"]["schema"])]
    return 7 + sum(len(enc.encode(t, disallowed_special=())) for t in texts)


def base64_module():
    import base64

    return base64
