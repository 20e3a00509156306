#!/usr/bin/env python3
"""Run the `smartbcc` command line from a checkout, without installing it: `python cli.py --help`.

The checkout's folder goes first on sys.path, so this runs the gateway package beside this file (not
an installed copy); the dependencies still come from the Python that runs it (e.g. .venv/bin/python).
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from gateway.cli import main  # noqa: E402  (needs the path above)

if __name__ == "__main__":
    main()
