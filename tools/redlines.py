#!/usr/bin/env python3
"""Red-line checker without installation: `python tools/redlines.py [PATH…]` from the repo root."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from kb.redlines.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
