"""The configuration: the YAML file read safely (file.py) and its pydantic models, defaults and JSON
Schema (models.py), and which provider a model belongs to (families.py). Imports only the core."""
