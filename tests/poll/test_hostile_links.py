"""End to end, the model as the attacker (issue 21, item 3): it reports a finding on a file the request did
not show, named `app.py` + 300 spaces + `/../../../../../../attacker/phish/issues/1`. Before, the review
posted through the real CLI and PyGithub linked it to github.com/attacker/phish/issues/1 while its text
showed `app.py…`. Now the body GitHub receives, rendered by GitHub's own parser (cmark-gfm), links only
the file the manifest lists, to its line in the reviewed commit.
"""

from __future__ import annotations

import html
import re

from batch_review.markdown import safety as ms
from batch_review.markdown.check import check

from ..conftest import finding
from ..markdown.test_links import browser_path, server_path

PHISH = "app.py" + " " * 300 + "/../../../../../../attacker/phish/issues/1"


def test_a_path_the_model_chose_never_links_out_of_the_repository(world):
    world.answer_with({"app.py": [finding(PHISH, 2, title="Phish"),
                                  finding("util.py", 99, title="Listed file, line outside the diff")]})
    assert world.submit() == 0
    world.openai.complete_all()
    assert world.poll() == 0
    (review,) = world.github.reviews(1)
    body = review["body"]
    hrefs = [html.unescape(h) for h in re.findall(r'href="([^"]*)"', ms.render(body))]
    blob = f"/acme/widgets/blob/{world.pulls[1]}/"
    assert hrefs == [f"https://github.com{blob}util.py#L99"], hrefs
    assert all(browser_path(h).startswith(blob) and server_path(h).startswith(blob) for h in hrefs)
    assert "attacker" not in body and "at `app.py…` line 2 ·" in body  # inert code text, clipped
    assert check(body, leading=body.count("<!-- batch-review"), links=(f"https://github.com{blob}",)) == []
