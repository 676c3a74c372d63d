"""The one error type of the local stack: its message always says what to do next."""


class StackError(RuntimeError):
    """A service could not be fetched, started or reached; ``str(err)`` tells the user what to do."""
