"""icflow's shared package, deployed as the Lambda layer, grouped by the context each part serves.

- `core`: the shared kernel: S3 layout, names and tags, settings, errors, observability, the state table,
  pipeline.json, class names, and the adapters every path uses (S3 objects, status mirror, notifications).
- `training`: from an upload under datasets/ to a training or tuning job, and from its end to a model.
- `batch`: from uploads under batch/ to a transform job, and from its end to labeled predictions.
- `endpoints`: a model's realtime endpoint: deployment, state changes, clean-up, the idle guard.
- `algorithm`, `recordio`: the built-in algorithm's contract and the RecordIO format, pure libraries.
- `wiring`: every adapter built in one place; each use case's `build_*` takes it.

Domain logic is pure and testable without AWS; nothing here imports the sagemaker SDK.
"""
