"""The submit journey (journey.py orchestrates): targets -> plans (diffs -> requests) -> budget -> batch
files -> manifest -> batches. Never imports the poll journey."""
