"""The GitHub service: api.py is the only module that imports PyGithub (imported lazily by whoever
needs a client); records.py holds GitHub's answers as plain records."""
