"""Tests of the benchmark harness: `.venv/bin/pytest bench/tests` (not part of make test)."""
