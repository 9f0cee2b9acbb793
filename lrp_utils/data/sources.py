"""One entry point for every corpus: :func:`load_corpus` recognises what a source is and loads it.

A source is

- an AudioMNIST-format folder (the real corpus, a sample of it, or the synthetic one): ``data/``
  with ``audioMNIST_meta.txt``, or the folder holding ``data/``;
- an FSDD folder: ``recordings/<digit>_<name>_<index>.wav``, or the folder holding ``recordings/``;
- a speechocean762 folder, prepared (``metadata.csv``) or original (``WAVE/`` + Kaldi tables);
- a manifest CSV (:mod:`lrp_utils.data.manifest`);
- or recordings already loaded (a sequence of :class:`~lrp_utils.data.corpus.Recording`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from lrp_utils.data.corpus import Recording, audiomnist_data_dir, load_audiomnist, load_fsdd
from lrp_utils.data.errors import CorpusError
from lrp_utils.data.manifest import read_manifest
from lrp_utils.data.speechocean import METADATA_NAME, is_original_layout, is_prepared_layout, load_speechocean762
from lrp_utils.data.synthetic import META_NAME

Source = str | os.PathLike | Sequence[Recording]

#: What :func:`corpus_kind` can answer, and the loader of each folder kind.
LOADERS = {"audiomnist": load_audiomnist, "fsdd": load_fsdd, "speechocean762": load_speechocean762,
           "manifest": read_manifest}


def corpus_kind(source: str | os.PathLike) -> str:
    """Which kind of corpus the file or folder ``source`` is: a key of :data:`LOADERS`.

    Raises
    ------
    CorpusError
        If ``source`` does not exist or is none of the kinds (the message lists what was looked for).
    """
    path = Path(source)
    if path.is_file():
        if path.name == METADATA_NAME and is_prepared_layout(path.parent):
            return "speechocean762"
        if path.suffix.lower() == ".csv":
            return "manifest"
        raise CorpusError(f"{path}: a file, but not a manifest CSV; give a corpus folder or a .csv manifest "
                          "(columns path,speaker[,gender,label,utterance]).")
    if not path.is_dir():
        raise CorpusError(f"{path}: no such corpus folder or manifest file.")
    if is_prepared_layout(path) or is_original_layout(path):
        return "speechocean762"
    if (audiomnist_data_dir(path) / META_NAME).is_file():
        return "audiomnist"
    if (path / "recordings").is_dir() or any(path.glob("[0-9]_*_[0-9]*.wav")):
        return "fsdd"
    raise CorpusError(
        f"{path}: not a corpus this project knows. Expected one of: an AudioMNIST folder (data/{META_NAME} "
        f"and data/NN/<digit>_<NN>_<rep>.wav), an FSDD folder (recordings/<digit>_<name>_<index>.wav), "
        f"speechocean762 ({METADATA_NAME} with a 'file' column, or WAVE/ with train/ and test/ Kaldi tables), "
        "or a manifest CSV with columns path,speaker[,gender,label,utterance] (pass the .csv itself).")


def load_corpus(source: Source) -> list[Recording]:
    """The recordings of ``source`` (any kind in the module docstring), sorted by speaker, digit, take.

    Folders load with their own loader's defaults: an AudioMNIST folder needs to be consistent,
    not complete (:func:`~lrp_utils.data.corpus.load_audiomnist`); speechocean762's original layout
    gives its adults (:func:`~lrp_utils.data.speechocean.load_speechocean762`).

    Raises
    ------
    CorpusError
        If the source is not a known kind, or its loader finds it broken (the message names the
        file or manifest row and what to fix).
    """
    if isinstance(source, (str, os.PathLike)):
        kind = corpus_kind(source)
        path = Path(source)
        if kind == "speechocean762" and path.is_file():
            path = path.parent
        return LOADERS[kind](path)
    recordings = list(source)
    if not recordings or not all(isinstance(r, Recording) for r in recordings):
        raise CorpusError("load_corpus: give a corpus folder, a manifest CSV, or a non-empty sequence of "
                          "Recording objects.")
    return sorted(recordings, key=Recording.sort_key)
