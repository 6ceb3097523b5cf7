"""The benchmark harness: load generation, measurement, report."""
