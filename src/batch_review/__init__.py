"""batch-review: overnight pull request review through the OpenAI Batch API."""

__version__ = "0.1.0"
