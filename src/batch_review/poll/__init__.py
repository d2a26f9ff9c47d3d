"""The poll journey (journey.py orchestrates): store -> manifest -> batches -> results -> review ->
publish -> retire, plus resubmission of expired requests, resuming what a killed submit planned, and the
cancel and status commands. Never imports the submit journey."""
