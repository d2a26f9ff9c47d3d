"""The submit journey (journey.py orchestrates): targets -> diffs -> requests -> budget -> batch
files -> manifest -> batches. Never imports the poll journey."""
