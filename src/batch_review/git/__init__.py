"""The local checkout: merge bases, diffs, files at a commit, fetching pull request heads (the token
through the environment of that one command only)."""
