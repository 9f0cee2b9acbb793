"""Atomic file writes and project paths.

Every file the project writes (feature caches, checkpoints, metrics, generated corpora) goes
through :func:`atomic_write`: the content is written to a temporary file in the same folder and
moved into place with :func:`os.replace`, so a reader never sees a half-written file and an
interrupted job leaves the previous good file intact.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Iterator

#: Root of the repository (the folder holding ``pyproject.toml``).
REPO_ROOT = Path(__file__).resolve().parent.parent

#: Default location of everything the experiments produce (ignored by git).
ARTIFACTS_DIR = Path(os.environ.get("SPEECH_LRP_ARTIFACTS", REPO_ROOT / "artifacts"))


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "wb") -> Iterator[Any]:
    """Open a temporary sibling of ``path`` for writing; move it onto ``path`` on success.

    On an exception the temporary file is removed and ``path`` is left untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp creates 0600; give the file the usual permissions
    try:
        with os.fdopen(fd, mode) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _umask() -> int:
    """The process's file-creation mask (read without changing it for longer than a moment)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_json(path: str | os.PathLike, obj: Any) -> None:
    """Write ``obj`` as indented JSON, atomically."""
    with atomic_write(path, "w") as handle:
        json.dump(obj, handle, indent=2, sort_keys=True)
        handle.write("\n")


def save_torch(path: str | os.PathLike, obj: Any) -> None:
    """``torch.save`` ``obj`` to ``path`` atomically."""
    import torch

    with atomic_write(path, "wb") as handle:
        torch.save(obj, handle)
