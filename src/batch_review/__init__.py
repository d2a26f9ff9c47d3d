"""batch-review: overnight pull request review through the OpenAI (or Azure OpenAI) or Anthropic batch APIs."""

__version__ = "0.1.0"
