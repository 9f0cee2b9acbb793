"""Get the Free Spoken Digit Dataset (Jackson et al., CC BY-SA 4.0) into ``DEST/recordings``.

    python -m data_scripts.fsdd --dest DIR                # download from GitHub (about 25 MB)
    python -m data_scripts.fsdd --dest DIR --source PATH  # a local clone, folder or zip

Six male speakers x 10 digits x 50 recordings at 8 kHz. Verified (all 3000 files present) before it
is moved into place; an interrupted download resumes when re-run.
"""

from __future__ import annotations

from pathlib import Path

from data_scripts._fetch import find_folder, install, parse_fetch_arguments
from lrp_utils.data.corpus import verify_fsdd

URL = "https://github.com/Jakobovski/free-spoken-digit-dataset/archive/refs/heads/master.zip"


def _is_recordings(folder: Path) -> bool:
    return folder.name == "recordings" or (folder / "0_jackson_0.wav").is_file()


def main(argv: list[str] | None = None) -> int:
    args = parse_fetch_arguments(argv, "python -m data_scripts.fsdd", __doc__.split("\n")[0], "recordings",
                                 "FSDD", URL)
    return install(
        args.dest, "recordings", args.source, args.url, "free-spoken-digit-dataset-master.zip",
        locate=lambda staging: find_folder(staging, _is_recordings, "FSDD recordings folder"),
        verify=verify_fsdd, progress=not args.no_progress, keep_archive=args.keep_archive,
    )


if __name__ == "__main__":
    raise SystemExit(main())
