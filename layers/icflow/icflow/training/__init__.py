"""The training path: an upload under datasets/ evaluated into a training or tuning job, and that job's end into a model."""
