"""Dataset tooling behind `icflow pack`, `inspect` and `unpack`: im2rec's workflow without MXNet."""
