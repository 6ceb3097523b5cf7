"""Benchmarks (issue 10): bench/run.py and its harness; not part of the test suite."""
