"""Runs the benchmark, the ``asgibench`` package beside this file: ``python benchmarks/bench.py --help``."""

import sys
from pathlib import Path

if __name__ == "__main__":
    folder = str(Path(__file__).resolve().parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    from asgibench.cli import main

    main()
