"""What the rest of the code knows about the two services without importing their clients (pure).

The client libraries take most of a second to import; a dry run never needs them, so only
openai_batches.py, anthropic_batches.py and github_api.py import them, and they are imported when a command first talks to
a service.
"""

from __future__ import annotations

DEFAULT_OPENAI_BASE_URL = "https://api.openai.com/v1"
DEFAULT_ANTHROPIC_BASE_URL = "https://api.anthropic.com"
DEFAULT_GITHUB_API_URL = "https://api.github.com"
BATCH_PENDING = frozenset({"validating", "in_progress", "finalizing", "cancelling"})
