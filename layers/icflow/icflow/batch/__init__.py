"""The batch path: uploads under batch/ collected into a transform job, and its outputs into labeled predictions."""
