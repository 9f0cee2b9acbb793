"""Wall time of building the whole book from nothing cached, against the profile's budget.

Runs ``book/build.py --profile PROFILE --device cpu`` (every chapter executed, then the HTML book)
into a temporary folder with ``SPEECH_LRP_ARTIFACTS`` pointed at an empty one, so that the corpus,
the features and every model are made as on a fresh clone (the virtual environment is not part of
the time). The budgets are DESIGN.md's: ``smoke`` < 10 min, ``cpu`` < 60 min on 2 CPU cores.

This machine's speed drifts between days by a third (AlexNet training at 46-77 spectrograms/s on
the same 2 cores), so the run also measures it: AlexNet training throughput (batch 16, the smoke
profile's, :func:`benchmarks.train_speed.measure`) just before and just after the build. Compare
two builds by their times *and* their reference throughputs.

    python benchmarks/book_time.py [--profile smoke] [--data-dir PATH]

Writes ``benchmarks/results/book_time_<profile>.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.train_speed import RESULTS_DIR, cases, measure  # noqa: E402
from lrp_utils.io import REPO_ROOT, atomic_write, write_json  # noqa: E402
from lrp_utils.report import git_commit  # noqa: E402

#: DESIGN.md's budget of the whole book per profile, in seconds (2 CPU cores).
BUDGET_SECONDS = {"smoke": 600.0, "cpu": 3600.0}


def reference_throughput() -> float:
    """AlexNet training spectrograms/s, batch 16, 8 batches after a warm-up batch (CPU)."""
    alexnet = next(case for case in cases() if case["model"] == "alexnet")
    return measure(alexnet, batch_size=16, batches=8, device=torch.device("cpu"), amp=False, channels_last=False)


def build(profile: str, data_dir: str | None, folder: Path) -> tuple[float, dict]:
    """Build the book of ``profile`` in ``folder`` with nothing cached; (wall seconds, run.json)."""
    command = [sys.executable, str(REPO_ROOT / "book" / "build.py"), "--profile", profile, "--device", "cpu",
               "--output", str(folder / "book")] + (["--data-dir", data_dir] if data_dir else [])
    environment = {**os.environ, "SPEECH_LRP_ARTIFACTS": str(folder / "artifacts")}
    started = time.perf_counter()
    subprocess.run(command, check=True, env=environment)
    seconds = time.perf_counter() - started
    return seconds, json.loads((folder / "book" / "source" / "book" / "executed" / "run.json").read_text())


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="smoke", choices=sorted(BUDGET_SECONDS))
    parser.add_argument("--data-dir", default=None, help="the corpus (default: the profile's)")
    args = parser.parse_args(argv)

    before = reference_throughput()
    with tempfile.TemporaryDirectory(prefix="book-time-") as folder:
        total, record = build(args.profile, args.data_dir, Path(folder))
    after = reference_throughput()
    chapters = record["chapter_seconds"]
    executed = sum(chapters.values())
    budget = BUDGET_SECONDS[args.profile]
    meta = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "commit": git_commit(), "profile": args.profile, "torch": torch.__version__,
            "platform": platform.platform(), "cpu_count": os.cpu_count(), "threads": torch.get_num_threads()}
    result = {"meta": meta, "chapter_seconds": chapters, "execution_seconds": executed,
              "jupyter_book_seconds": total - executed, "total_seconds": total, "budget_seconds": budget,
              "total_over_budget": total / budget,
              "reference_alexnet_samples_per_s": {"before": before, "after": after}}
    name = f"book_time_{args.profile}"
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    write_json(RESULTS_DIR / f"{name}.json", result)
    lines = [f"# The `{args.profile}` book from nothing cached ({meta['date']})", "",
             f"commit `{meta['commit']}`, torch {meta['torch']}, {meta['platform']}, {meta['cpu_count']} CPU cores, "
             f"{meta['threads']} torch threads; reference: AlexNet trains at {before:.1f} spectrograms/s before the "
             f"build and {after:.1f} after (batch 16)", "",
             "| step | seconds | minutes |", "| --- | ---: | ---: |",
             *(f"| `{chapter}` | {seconds:.0f} | {seconds / 60:.1f} |" for chapter, seconds in chapters.items()),
             f"| Jupyter Book (HTML) and start-up | {total - executed:.0f} | {(total - executed) / 60:.1f} |",
             f"| **whole book** | **{total:.0f}** | **{total / 60:.1f}** |", "",
             f"Budget {budget / 60:.0f} min: the build took **{total / budget:.2f}×** the budget."]
    with atomic_write(RESULTS_DIR / f"{name}.md", "w") as handle:
        handle.write("\n".join(lines) + "\n")
    print("\n".join(lines))
    return result


if __name__ == "__main__":
    main()
