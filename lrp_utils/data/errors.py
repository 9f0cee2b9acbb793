"""Exceptions of the data layer.

Both derive from :class:`ValueError`, so callers that only care about "bad input" can catch that;
their messages always name the file or folder at fault and say what to do about it.
"""

from __future__ import annotations


class AudioFileError(ValueError):
    """A wav file is missing, empty, corrupt, or longer than allowed."""


class CorpusError(ValueError):
    """A corpus folder is missing, incomplete, or inconsistent (meta file, folder and file names)."""
