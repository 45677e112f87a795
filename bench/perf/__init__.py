"""Side-by-side performance benchmarks of the sidecar against its own baselines (``python -m bench.perf``)."""
