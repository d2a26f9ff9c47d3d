"""The pure core every layer shares: the vocabulary (severities, sides, Finding, Target), the product's
errors with their exit codes, redaction, unified diffs as commentable lines, and the markers that name
what batch-review posted. Imports nothing of the package but itself; no client, no YAML, no environment."""
