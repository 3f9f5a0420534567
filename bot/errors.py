"""The error a user can fix: every front end shows it as one line, never a traceback."""

from __future__ import annotations


class UserError(Exception):
    """An error the user can fix (a missing index, a bad setting); printed as one line."""


class ConfigError(UserError):
    """A setting is missing or malformed; the message never contains the token."""
