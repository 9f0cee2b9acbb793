"""Get AudioMNIST (Becker et al. 2018, MIT licence) into ``DEST/data``.

    python -m data_scripts.audiomnist --dest DIR                # download from GitHub (about 1 GB)
    python -m data_scripts.audiomnist --dest DIR --source PATH  # a local clone, folder or zip

The source is staged under ``DIR``, verified (60 speaker folders of 500 wav files with names
consistent with their folder, and the meta file; see :func:`lrp_utils.data.corpus.verify_audiomnist`)
and only then moved to ``DIR/data``. An interrupted download resumes when re-run; an incomplete
source is reported and nothing is installed (exit code 1).
"""

from __future__ import annotations

from pathlib import Path

from data_scripts._fetch import find_folder, install, parse_fetch_arguments
from lrp_utils.data.corpus import verify_audiomnist
from lrp_utils.data.synthetic import META_NAME

URL = "https://github.com/soerenab/AudioMNIST/archive/refs/heads/master.zip"
#: What a complete AudioMNIST holds: speaker folders 01..60, 10 digits x 50 repetitions each.
SPEAKERS, REPETITIONS = 60, 50


def _is_data_folder(folder: Path) -> bool:
    return (folder / META_NAME).is_file() or any(p.is_dir() and p.name.isdigit() and len(p.name) == 2
                                                 for p in folder.iterdir())


def main(argv: list[str] | None = None) -> int:
    args = parse_fetch_arguments(argv, "python -m data_scripts.audiomnist", __doc__.split("\n")[0], "data",
                                 "AudioMNIST", URL)
    return install(
        args.dest, "data", args.source, args.url, "AudioMNIST-master.zip",
        locate=lambda staging: find_folder(staging, _is_data_folder, f"AudioMNIST data folder (with {META_NAME})"),
        verify=lambda folder: verify_audiomnist(folder, speakers=SPEAKERS, repetitions=REPETITIONS),
        progress=not args.no_progress, keep_archive=args.keep_archive,
    )


if __name__ == "__main__":
    raise SystemExit(main())
