"""The one error type the command line turns into a single line on stderr.

Raise a subclass of ``MlopsError`` when the user can fix the cause (bad input,
bad config, a missing file); its message must name the problem and the fix.
Anything else is a bug and keeps its traceback.
"""


class MlopsError(Exception):
    """An error caused by input the user controls, reported as one line."""
