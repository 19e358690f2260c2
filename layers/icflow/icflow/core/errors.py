"""The one base class for problems with the user's input or data.

Messages name the problem and what to do about it; the CLI prints them without a traceback and
the Lambdas record them as the reason a run was rejected.
"""


class IcflowError(Exception):
    """Bad input: a file, key, configuration or dataset that icflow cannot use as it is."""
