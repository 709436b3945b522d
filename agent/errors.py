"""Exceptions that mean misconfiguration or a broken run.

Outcomes (refuted, unverifiable, truncated answers) are values on `Answer`, never exceptions.
Every message is one line that names the problem and the way out; the CLI prints it as is.
"""

from __future__ import annotations

__all__ = [
    "VerimathError",
    "ConfigError",
    "ModelNotFoundError",
    "BackendError",
    "IndexFormatError",
    "InputFileError",
    "MissingExtraError",
]


class VerimathError(Exception):
    """Base class: a failure a user can act on, described in one line."""


class ConfigError(VerimathError, ValueError):
    """An option or argument that cannot work."""


class ModelNotFoundError(VerimathError, LookupError):
    """The requested model is neither local, nor cached, nor reachable."""


class BackendError(VerimathError, RuntimeError):
    """A model backend failed while answering (server down, bad response)."""


class IndexFormatError(VerimathError, ValueError):
    """A saved index is missing, damaged, or was built for another embedding model."""


class InputFileError(VerimathError, ValueError):
    """A question, pairs or corpus file cannot be read."""


class MissingExtraError(VerimathError, ImportError):
    """An optional dependency is not installed; the message gives the pip command."""
