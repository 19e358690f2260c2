"""`icflow demo` (`make demo`): the whole flow on this machine, from handwritten digits to labeled predictions."""
