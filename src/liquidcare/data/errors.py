"""The errors `liquidcare.data` raises on purpose, so that callers (the CLI) can print them."""


class DatasetNotAvailableError(FileNotFoundError):
    """A hub dataset is neither in the local cache nor reachable (offline, unknown, gated, ...).

    A FileNotFoundError, like `ModelNotAvailableError`: for the caller the data is simply not on
    this machine. The message always names the dataset and what to use instead.
    """


class CorpusFormatError(ValueError):
    """A corpus file has a bad line or record. The message names the file, line and field."""
