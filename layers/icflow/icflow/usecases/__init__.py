"""The training path's use cases: one per function, each built from adapters so tests can run it on moto."""
