"""The command line and the GitHub Actions edge: arguments and INPUT_* variables become one
journey's inputs (commands.py), settings are read once (runtime.py), what a command shows is printed in one
place (present.py), and errors map to exit codes."""
from .commands import main

__all__ = ["main"]
