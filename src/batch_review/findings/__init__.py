"""From a model's answer to what a person reads: output/error lines to one result per request
(results.py), an answer to findings (answers.py), findings anchored to commentable lines (anchoring.py),
review bodies, inline comments and check-run output within GitHub's limits (compose.py, body_fit.py),
and SARIF (sarif.py). Pure; imports the core and markdown."""
