"""Shared steps of the download commands: resumable download, staging, verification, atomic install.

A dataset is fetched into ``DEST/.staging-<name>/`` (downloaded archive extracted there, or a
``--source`` folder, zip or tar archive copied there), verified, and only then moved into place with
:func:`os.replace` — so ``DEST`` never holds a half-written dataset that looks complete. A download
goes to ``DEST/<archive>.part`` and continues from its current size with an HTTP ``Range`` request
when re-run; it is renamed to ``DEST/<archive>`` once the server reports it complete.
"""

from __future__ import annotations

import argparse
import http.client
import os
import shutil
import sys
import tarfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable
from pathlib import Path

CHUNK = 1 << 20


class FetchError(RuntimeError):
    """A download, an archive or a source folder is unusable; the message says what to do."""


def download(url: str, target: Path, progress: bool = True, timeout: float = 60.0, size: int | None = None) -> Path:
    """Download ``url`` to ``target``, resuming ``target.part`` if an earlier run left one.

    An existing ``target`` is complete (it is renamed from ``.part`` only then) and is returned as is.
    ``size``, when known, is the archive's published size in bytes: a download that ends at
    another size is deleted (so the next run starts afresh) and reported.
    """
    from tqdm import tqdm  # text bars: notebooks render them without ipywidgets

    target = Path(target)
    if target.is_file():
        return target
    part = target.with_name(target.name + ".part")
    target.parent.mkdir(parents=True, exist_ok=True)
    have = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"Range": f"bytes={have}-"} if have else {})
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as error:
        if error.code == 416 and have:  # nothing left to fetch
            os.replace(part, target)
            return target
        raise FetchError(f"{url}: HTTP {error.code}; check the address or use --source PATH.") from error
    except (urllib.error.URLError, OSError) as error:
        raise FetchError(f"{url}: cannot connect ({error}); when offline, use --source PATH with a local "
                         "clone, folder or zip.") from error
    with response:
        resumed = response.status == 206
        length = response.headers.get("Content-Length")
        total = (int(length) + (have if resumed else 0)) if length else None
        mode = "ab" if resumed else "wb"
        with open(part, mode) as handle, tqdm(total=total, initial=have if resumed else 0, unit="B",
                                               unit_scale=True, desc=target.name, disable=not progress) as bar:
            try:
                while chunk := response.read(CHUNK):
                    handle.write(chunk)
                    bar.update(len(chunk))
            except (http.client.HTTPException, OSError) as error:
                raise FetchError(f"{url}: download interrupted ({error!r}) after {handle.tell()} bytes; "
                                 "re-run the command to resume.") from error
            finally:
                handle.flush()
                os.fsync(handle.fileno())
    have = part.stat().st_size
    if total is not None and have != total:
        raise FetchError(f"{url}: download interrupted at {have} of {total} bytes; re-run the command to resume.")
    if size is not None and have != size:
        part.unlink()
        raise FetchError(f"{url}: got {have} bytes, but the archive has {size}; deleted it, re-run the command "
                         "or use --source PATH.")
    os.replace(part, target)
    return target


def _link_or_copy(src: str, dst: str) -> str:
    """Hard-link ``src`` to ``dst`` (instant, no extra disk for a 1 GB corpus); copy across devices."""
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)
    return dst


def _extract_tar(source: Path, staging: Path) -> None:
    """Extract a (compressed) tar archive into ``staging``, refusing links and paths that leave it."""
    try:
        with tarfile.open(source) as archive:
            archive.extractall(staging, filter="data")
    except tarfile.FilterError as error:
        raise FetchError(f"{source}: unsafe member in the tar archive ({error}); refusing it.") from error
    except (tarfile.TarError, EOFError, OSError) as error:
        raise FetchError(f"{source}: the tar archive is incomplete or corrupt ({error}); fetch it again.") from error


def stage(source: Path, staging: Path) -> Path:
    """Copy a folder (hard links where possible), or extract a zip or tar archive, into a fresh ``staging``."""
    source = Path(source)
    if staging.exists():
        shutil.rmtree(staging)
    if source.is_dir():
        shutil.copytree(source, staging, ignore=shutil.ignore_patterns(".git"), copy_function=_link_or_copy)
        return staging
    if zipfile.is_zipfile(source):
        staging.mkdir(parents=True)
        try:
            with zipfile.ZipFile(source) as archive:
                for name in archive.namelist():
                    normal = os.path.normpath(name)
                    if os.path.isabs(normal) or normal == ".." or normal.startswith(".." + os.sep):
                        raise FetchError(f"{source}: unsafe path {name!r} in the zip; refusing it.")
                archive.extractall(staging)
        except (zipfile.BadZipFile, EOFError, OSError) as error:
            shutil.rmtree(staging, ignore_errors=True)
            raise FetchError(f"{source}: the zip is incomplete or corrupt ({error}); fetch it again.") from error
        return staging
    if source.is_file() and tarfile.is_tarfile(source):
        staging.mkdir(parents=True)
        try:
            _extract_tar(source, staging)
        except FetchError:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return staging
    if source.exists():
        raise FetchError(f"{source}: not a folder and not a complete zip archive (truncated download?); "
                         "give a clone, folder or zip of the dataset.")
    raise FetchError(f"{source}: no such file or folder.")


def find_folder(staging: Path, accept: Callable[[Path], bool], what: str) -> Path:
    """The shallowest folder under ``staging`` (itself included) for which ``accept`` is true."""
    candidates = [staging] + sorted((p for p in staging.rglob("*") if p.is_dir()), key=lambda p: len(p.parts))
    for folder in candidates:
        if accept(folder):
            return folder
    raise FetchError(f"no {what} found in the source; is it the right dataset?")


def install(dest: Path, name: str, source: Path | None, url: str, archive_name: str,
            locate: Callable[[Path], Path], verify: Callable[[Path], object], progress: bool = True,
            keep_archive: bool = False, archive_size: int | None = None) -> int:
    """Fetch (from ``source`` or ``url``), verify and install ``DEST/<name>``; return an exit code.

    ``locate(staging)`` returns the folder to install as ``DEST/<name>`` (it may build that folder,
    e.g. convert the corpus, inside ``staging``); ``verify(folder)`` returns a report with ``ok`` and
    a readable ``str``. ``archive_size`` is passed to :func:`download`.
    """
    dest = Path(dest)
    final = dest / name
    if final.exists():
        report = verify(final)
        print(report)
        if report.ok:
            print(f"{final} is already complete; nothing to do.")
            return 0
        print(f"{final} exists but is incomplete; delete it and re-run.", file=sys.stderr)
        return 1
    staging = dest / f".staging-{name}"
    try:
        archive = None
        if source is None:
            archive = download(url, dest / archive_name, progress=progress, size=archive_size)
            source = archive
        try:
            folder = locate(stage(Path(source), staging))
        except FetchError:
            if archive is not None:
                archive.unlink()  # a corrupt download: fetch it afresh next time
            raise
        report = verify(folder)
        print(report)
        if not report.ok:
            print(f"{name} NOT installed: the source is incomplete (see above). Nothing was written to {final}.",
                  file=sys.stderr)
            return 1
        os.replace(folder, final)
        if archive is not None and not keep_archive:
            archive.unlink()
        print(f"installed {final}")
        return 0
    except FetchError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def parse_fetch_arguments(argv: list[str] | None, prog: str, description: str, target: str, corpus: str,
                          url: str, flags: dict[str, str] | None = None,
                          dest_help: str | None = None) -> argparse.Namespace:
    """The common command line of the dataset commands: ``--dest``, ``--source``, ``--url``,
    ``--keep-archive``, ``--no-progress``, and the command's own on/off ``flags`` (name -> help)."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--dest", required=True, type=Path, help=dest_help or f"folder that will hold {target}/")
    parser.add_argument("--source", type=Path, help=f"local clone, folder or archive of the {corpus} corpus")
    parser.add_argument("--url", default=url, help="archive to download when no --source is given")
    parser.add_argument("--keep-archive", action="store_true", help="keep the downloaded archive")
    parser.add_argument("--no-progress", action="store_true")
    for name, help_text in (flags or {}).items():
        parser.add_argument(name, action="store_true", help=help_text)
    return parser.parse_args(argv)
