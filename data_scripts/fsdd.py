"""Get the Free Spoken Digit Dataset (Jackson et al., CC BY-SA 4.0) into ``DEST/recordings``.

    python -m data_scripts.fsdd --dest DIR                # download from GitHub (about 25 MB)
    python -m data_scripts.fsdd --dest DIR --source PATH  # a local clone, folder or zip

Six male speakers x 10 digits x 50 recordings at 8 kHz. Verified (all 3000 files present) before it
is moved into place; an interrupted download resumes when re-run.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from data_scripts._fetch import find_folder, install
from lrp_utils.data.corpus import verify_fsdd

URL = "https://github.com/Jakobovski/free-spoken-digit-dataset/archive/refs/heads/master.zip"


def _is_recordings(folder: Path) -> bool:
    return folder.name == "recordings" or (folder / "0_jackson_0.wav").is_file()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m data_scripts.fsdd", description=__doc__.split("\n")[0])
    parser.add_argument("--dest", required=True, type=Path, help="folder that will hold recordings/")
    parser.add_argument("--source", type=Path, help="local clone, folder or zip of the FSDD repository")
    parser.add_argument("--url", default=URL, help="archive to download when no --source is given")
    parser.add_argument("--keep-archive", action="store_true", help="keep the downloaded zip")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    return install(
        args.dest, "recordings", args.source, args.url, "free-spoken-digit-dataset-master.zip",
        locate=lambda staging: find_folder(staging, _is_recordings, "FSDD recordings folder"),
        verify=verify_fsdd, progress=not args.no_progress, keep_archive=args.keep_archive,
    )


if __name__ == "__main__":
    raise SystemExit(main())
