"""Reproducible benchmarks and the offline builders of the data files kilo-lsp ships."""
