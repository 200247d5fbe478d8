"""Benchmarks of virtu-sync-plugin (``make bench``); not part of the test suite."""
