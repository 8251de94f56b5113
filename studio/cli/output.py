"""Handlers of the archstudio sub-commands (Qt-free)."""
import json
import sys


def print_json(obj) -> None:
    json.dump(obj, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")
