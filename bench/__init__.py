"""`make bench`: the benchmark harness (see bench/run.py and docs/benchmarks.md)."""
