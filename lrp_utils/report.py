"""What every executed notebook states at its top: profile, corpus, seed, device and versions.

:func:`start_run` turns a notebook's papermill parameters into a validated
:class:`~lrp_utils.profiles.Profile` and a device, seeds everything, and returns a :class:`Run`
whose :meth:`Run.header` is the table the notebook displays first. A wrong parameter fails here,
in the notebook's first cell, with a message that lists what is valid. :func:`recording_label`
names a recording the same way in every figure title and sentence.
"""

from __future__ import annotations

import platform
import subprocess
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np
import torch

import lrp_utils
from lrp_utils.data import ResolvedCorpus, resolve_corpus
from lrp_utils.devices import resolve_device
from lrp_utils.io import REPO_ROOT
from lrp_utils.profiles import Profile, get_profile
from lrp_utils.seeding import seed_everything


@dataclass(frozen=True)
class Run:
    """A notebook run: the profile (with its sizes for the corpus), the device and the corpus."""

    profile: Profile
    device: torch.device
    corpus: ResolvedCorpus

    def versions(self) -> dict[str, str]:
        """Versions of Python and the packages the results depend on, and the git commit."""
        import torchaudio

        return {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "torchaudio": torchaudio.__version__,
            "numpy": np.__version__,
            "lrp_utils": lrp_utils.__version__,
            "commit": git_commit(),
        }

    def header(self) -> str:
        """A markdown table of the run's identity (for ``IPython.display.Markdown``)."""
        p = self.profile
        rows = {
            "profile": f"`{p.name}`" + (f" — {p.description}" if p.description else ""),
            "corpus": describe_corpus(self.corpus) + (f" (profile: `{p.corpus}`)" if p.corpus != self.corpus.kind else ""),
            "seed": str(p.seed),
            "device": str(self.device) + (f" ({torch.cuda.get_device_name(self.device)})" if self.device.type == "cuda" else ""),
            "machine": f"{platform.machine()}, {torch.get_num_threads()} torch threads",
            **{name: f"`{value}`" for name, value in self.versions().items()},
        }
        return "| run | |\n| --- | --- |\n" + "\n".join(f"| {k} | {v} |" for k, v in rows.items())


#: How the run header names each corpus kind: what it is, its licence and its citation.
CORPUS_CITATIONS = {
    "audiomnist": "AudioMNIST (Becker et al. 2018, MIT licence)",
    "speechocean762": "speechocean762, adult speakers (Zhang et al. 2021, OpenSLR 101, Apache-2.0)",
    "synthetic": "the synthetic AudioMNIST-format corpus (this project's source-filter model, MIT)",
    "fsdd": "Free Spoken Digit Dataset (Jackson et al., CC BY-SA 4.0)",
    "manifest": "a corpus given by a manifest CSV",
}


def describe_corpus(corpus: ResolvedCorpus) -> str:
    """What a resolved corpus is, with its licence and citation, and where it lies."""
    return f"{CORPUS_CITATIONS.get(corpus.kind, corpus.kind)} at `{corpus.root}`"


def git_commit() -> str:
    """The repository's current commit (short hash, ``+dirty`` if modified), or ``unknown``."""
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT, capture_output=True,
                                text=True, check=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO_ROOT,
                               capture_output=True, text=True, check=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return commit + ("+dirty" if dirty else "")


def start_run(profile: str = "cpu", seed: int | None = None, device: str = "auto", data_dir: str | None = None,
              overrides: Mapping[str, Any] | None = None) -> Run:
    """Validate a notebook's parameters, find the corpus, seed every generator and pick the device.

    The corpus is resolved here (and generated if it is the synthetic one and missing), and the
    run's profile carries the sizes for its kind (``Profile.for_corpus``). ``seed``, ``device`` and ``data_dir`` override the profile's fields of the same name (``None``
    keeps the profile's); ``overrides`` replaces any other field by name. An unknown profile or
    field, an impossible value or an unavailable device raises ``ValueError`` listing what is valid.
    """
    changes = dict(overrides or {})
    if seed is not None:
        changes["seed"] = seed
    if data_dir is not None:
        changes["data_dir"] = str(data_dir)
    changes["device"] = device
    requested = get_profile(profile, **changes)
    corpus = resolve_corpus(requested, progress=False)
    resolved = requested.for_corpus(corpus.kind)
    run = Run(resolved, resolve_device(resolved.device), corpus)
    if resolved.num_threads:
        torch.set_num_threads(resolved.num_threads)
    seed_everything(resolved.seed)
    return run


def recording_label(recording: Any) -> str:
    """How the book names a recording: ``"speaker 07, digit 3, repetition 12"``.

    ``recording`` is a :class:`lrp_utils.data.corpus.Recording` (anything with ``speaker``,
    ``digit`` and ``repetition``); the digit is left out for corpora without digits (``None``).
    """
    parts = [f"speaker {recording.speaker}"]
    if recording.digit is not None:
        parts.append(f"digit {recording.digit}")
    parts.append(f"repetition {recording.repetition}")
    return ", ".join(parts)

