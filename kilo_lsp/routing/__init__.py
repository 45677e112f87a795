"""Where a request is decided: the engine, the policy, session affinity and which models can be called."""
