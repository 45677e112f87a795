"""What the sidecar offers an editor, one module per feature, each with ``register(server)``."""
