#!/usr/bin/env python3
"""Run the `smartbcc` command line from a checkout, without installing it: `python cli.py --help`.

The checkout's folder goes first on sys.path, so this runs the gateway package beside this file (not
an installed copy); the dependencies still come from the Python that runs it (e.g. .venv/bin/python).
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

try:
    from gateway.cli import main  # noqa: E402  (needs the path above)
except ModuleNotFoundError as missing:
    sys.exit(f"cli.py: {missing.name} is not installed for {sys.executable}: run it with the project's "
             f"virtualenv (.venv/bin/python cli.py, made by scripts/serve or scripts/test), or "
             f"pip install -e . first")

if __name__ == "__main__":
    main()
