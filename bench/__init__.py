"""Reproducible benchmarks of the sidecar, its classifier and its routing (the data files it ships are built by ``training``)."""
