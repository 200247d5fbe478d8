"""Benchmarks of virtu-sync-plugin (``make bench``); not part of the test suite."""

import sys
from pathlib import Path

# The stand-ins the benchmarks run on: edx-platform's modules the plugin imports (xmodule...)
# and the OLX reader behind them (olx_modulestore), as inside Studio.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "stand_ins"))
