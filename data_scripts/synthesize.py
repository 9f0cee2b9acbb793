"""Generate the synthetic AudioMNIST-format corpus (see :mod:`lrp_utils.data.synthetic`).

    python -m data_scripts.synthesize --dest DIR [--speakers 60 --female 12 --repetitions 50
                                                  --sample-rate 48000 --seed 0 --workers 2]

Writes ``DIR/data/NN/<digit>_<NN>_<rep>.wav`` and ``DIR/data/audioMNIST_meta.txt``; same seed, same
bytes; an interrupted run resumes.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lrp_utils.data.errors import CorpusError
from lrp_utils.data.synthetic import synthesize_corpus


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m data_scripts.synthesize", description=__doc__.split("\n")[0])
    parser.add_argument("--dest", required=True, type=Path, help="folder that will hold data/")
    parser.add_argument("--speakers", type=int, default=60)
    parser.add_argument("--female", type=int, default=12, help="number of female speakers")
    parser.add_argument("--repetitions", type=int, default=50, help="repetitions per digit and speaker")
    parser.add_argument("--sample-rate", type=int, default=48000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2, help="processes (the bytes do not depend on it)")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    try:
        synthesize_corpus(args.dest, speakers=args.speakers, female=args.female, repetitions=args.repetitions,
                          sample_rate=args.sample_rate, seed=args.seed, progress=not args.no_progress,
                          workers=args.workers)
    except (CorpusError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"corpus ready in {args.dest / 'data'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
