"""The one base class for errors caused by the user's input.

The `liquidcare` command prints any `UserError` as one line (`liquidcare: error: ...`, exit 1)
instead of a traceback, and the HTTP server turns it into a 4xx. Raise a subclass of it for a bad
config key, a missing file, a corrupt checkpoint or a malformed request, with a message that names
the problem and, where there is one, what to do about it.
"""


class UserError(Exception):
    """An error in what the user asked for, not a bug in liquidcare."""
