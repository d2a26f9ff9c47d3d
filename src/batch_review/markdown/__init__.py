"""Markdown as GitHub renders it (cmark-gfm): model text rewritten into a small safe subset
(safety.py), every composed body rendered and checked (check.py, html.py), and inert tables for the
terminal and the job summary (tables.py). Pure; imports only the core."""
