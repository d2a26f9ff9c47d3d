"""End to end, the model as the attacker (issue 21, item 4): its one-click suggestion holds a bidi override
the replaced line does not hold. Through the real CLI, PyGithub and the GitHub emulator, the inline comment
GitHub receives shows that suggestion as text with the character marked and a warning, never as a
```suggestion block; a suggestion that keeps a zero-width space the line already holds is offered as is.
"""

from __future__ import annotations

from ..cli.test_hostile_log_lines import add_pull
from ..conftest import finding

ZW_FILE = "greeting = 'hi\u200bthere'\ncheck = 1\n"


def test_a_suggestion_adding_an_invisible_character_is_shown_not_offered(world):
    add_pull(world, 4, {"zw.py": ZW_FILE}, title="Greeting")
    keeps = "greeting = 'hi\u200bthere!'"  # the line holds U+200B already: offered
    adds = "check = 1  # \u202eok"  # U+202E is new: shown, not offered
    world.answer_with({"zw.py": [finding("zw.py", 1, title="Keeps", suggestion=keeps),
                                 finding("zw.py", 2, title="Adds", suggestion=adds)]})
    assert world.submit() == 0
    doc = world.manifest()
    assert doc["files"]["pr-4"]["zw.py"]["invisible"] == [[1, "\u200b"]]
    world.openai.complete_all()
    assert world.poll() == 0
    (review,) = world.github.reviews(4)
    by_line = {c["line"]: c["body"] for c in review["comments"]}
    assert f"```suggestion\n{keeps}\n```" in by_line[1]
    assert "```suggestion" not in by_line[2] and "\u202e" not in by_line[2]
    assert "not offered as a one\\-click suggestion" in by_line[2] and "U\\+202E RIGHT\\-TO\\-LEFT OVERRIDE" in by_line[2]
    assert "check = 1  # <U+202E>ok" in by_line[2]
