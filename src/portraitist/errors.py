"""The project's own error types. The CLI prints these as one line (`error: ...`, exit 2) and lets
anything else show its traceback: an error of ours is the user's to fix, any other is a bug to report.

They subclass the built-in type a caller would expect (ValueError for bad input, RuntimeError for a
model that cannot run), so code written against those keeps working."""

from __future__ import annotations


class PortraitistError(Exception):
    """Base of every error the project raises on purpose."""


class InvalidInput(PortraitistError, ValueError):
    """A setting, file or argument the user gave is out of range or malformed."""


class Unsupported(InvalidInput):
    """A setting this model cannot honour."""


class CheckpointError(InvalidInput):
    """A checkpoint that is missing, truncated, or does not fit the network."""


class EngineUnavailable(PortraitistError, RuntimeError):
    """The model cannot run here now (no weights, no key, missing package); the message says how to fix it."""
