"""Feature caches under ``artifacts/cache/``.

A cache entry is ``<name>-<key>.npy`` (features stacked along the first axis, in the order of the
recordings) and ``<name>-<key>.json`` (the key's ingredients), where ``key`` hashes
:data:`CACHE_VERSION`, every field of the feature extractor (e.g. the offset seed, the number of
frames, a high-pass cut-off) and the corpus fingerprint: each recording's absolute path, size and
modification time. Changing any of them gives a new key, so the cache is rebuilt; otherwise it is
reused (loaded as a read-only memory map). Fields set to ``None`` (an option switched off, e.g.
``highpass_hz=None``) are left out of the key, so that adding an optional field to an extractor keeps
the entries cached before it existed. Both files are written with :func:`lrp_utils.io.atomic_write`,
the ``.json`` last, so an entry without its ``.json`` is never used.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path

import numpy as np

from lrp_utils.data.corpus import Recording
from lrp_utils.io import ARTIFACTS_DIR, atomic_write, write_json

#: Bump when feature code changes in a way that changes its output.
CACHE_VERSION = 1


def default_cache_dir() -> Path:
    """``artifacts/cache`` under :data:`lrp_utils.io.ARTIFACTS_DIR`."""
    return ARTIFACTS_DIR / "cache"


def corpus_fingerprint(recordings: Sequence[Recording]) -> str:
    """SHA-256 over each recording's absolute path, size in bytes and modification time (ns)."""
    digest = hashlib.sha256()
    for recording in recordings:
        stat = os.stat(recording.path)
        digest.update(f"{Path(recording.path).resolve()}|{stat.st_size}|{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def cache_key(recordings: Sequence[Recording], extractor) -> dict:
    """The ingredients of a cache key (a JSON-able dict) and its hash under ``"key"``.

    ``params`` are the extractor's fields except those set to ``None`` (options switched off).
    """
    params = {name: value for name, value in asdict(extractor).items() if value is not None}
    ingredients = {"version": CACHE_VERSION, "extractor": type(extractor).__name__, "params": params,
                   "corpus": corpus_fingerprint(recordings), "count": len(recordings)}
    key = hashlib.sha256(json.dumps(ingredients, sort_keys=True).encode()).hexdigest()[:16]
    return {**ingredients, "key": key}


def _init_worker() -> None:
    import torch

    torch.set_num_threads(1)


def parallel_map(function: Callable, items: Sequence, workers: int):
    """``map`` over ``items`` in order, with ``workers`` processes when that pays off (64 items or
    more); ``function`` must be picklable (e.g. a dataclass callable), torch single-threaded in each
    worker."""
    if workers > 1 and len(items) >= 64:
        with multiprocessing.get_context("fork").Pool(workers, initializer=_init_worker) as pool:
            yield from pool.imap(function, items, chunksize=16)
    else:
        yield from map(function, items)


def cached_features(recordings: Sequence[Recording], extractor, cache_dir: str | os.PathLike | None = None,
                    progress: bool = True, workers: int = 2) -> np.ndarray:
    """Features of ``recordings`` by ``extractor`` (a picklable dataclass callable with a ``name``).

    Returns an array of shape ``(len(recordings), *feature_shape)`` ``float32``, memory-mapped from
    the cache, computing and storing it first when missing (with a progress bar and ``workers``
    processes).
    """
    from tqdm import tqdm  # text bars: notebooks render them without ipywidgets

    if not recordings:
        raise ValueError("cached_features: no recordings given.")
    cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    ingredients = cache_key(recordings, extractor)
    stem = cache_dir / f"{extractor.name}-{ingredients['key']}"
    array_path, index_path = stem.with_suffix(".npy"), stem.with_suffix(".json")
    if index_path.is_file() and array_path.is_file():
        if json.loads(index_path.read_text()) == ingredients:
            return np.load(array_path, mmap_mode="r")

    results = parallel_map(extractor, list(recordings), workers)
    bar = tqdm(total=len(recordings), desc=f"{extractor.name} features", unit="rec", disable=not progress)
    with bar, atomic_write(array_path, "wb") as handle:
        first = np.asarray(next(results), dtype=np.float32)
        header = {"descr": np.lib.format.dtype_to_descr(np.dtype(np.float32)), "fortran_order": False,
                  "shape": (len(recordings), *first.shape)}
        np.lib.format.write_array_header_2_0(handle, header)
        handle.write(np.ascontiguousarray(first).tobytes())
        bar.update(1)
        for feature in results:
            feature = np.asarray(feature, dtype=np.float32)
            if feature.shape != first.shape:
                raise ValueError(f"{extractor.name}: feature shapes differ ({feature.shape} vs {first.shape}).")
            handle.write(np.ascontiguousarray(feature).tobytes())
            bar.update(1)
    write_json(index_path, ingredients)
    return np.load(array_path, mmap_mode="r")
