"""The one error this package raises on purpose, so that callers (the CLI) can print it cleanly."""


class ModelNotAvailableError(FileNotFoundError):
    """A base model cannot be found locally and cannot be fetched (offline, unknown name, ...).

    A FileNotFoundError, because for the caller that is what it is: the weights are not on this
    machine. The message always says what to do next.
    """
