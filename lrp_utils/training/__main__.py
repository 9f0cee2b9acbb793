"""Train a profile's model from the command line, in one process or several (torchrun).

    python -m lrp_utils.training --profile cpu --architecture alexnet
    torchrun --nproc_per_node=4 -m lrp_utils.training --profile paper --architecture resnet
    torchrun --nproc_per_node=2 -m lrp_utils.training --profile paper --architecture alexnet \\
        --seed 3 --set alexnet_batch_size=96 --set data_dir=/data/voxceleb.csv

Trains (or resumes, or just loads) the model :func:`lrp_utils.training.ensure_trained` names --
the checkpoint the notebooks then find under ``artifacts/<profile>/models/``.  Under torchrun
every process runs this program: rank 0 resolves the corpus and builds the feature cache
first, the others then read it; training is data-parallel (see
:func:`lrp_utils.training.train`), and rank 0 alone writes the checkpoint and prints the
summary.  The profile's batch size is the global batch: ``W`` processes take ``B / W`` items of
each batch.
"""

from __future__ import annotations

import argparse
import ast
import sys
from typing import Any

from lrp_utils.data import resolve_corpus
from lrp_utils.data.errors import CorpusError
from lrp_utils.models import ARCHITECTURES
from lrp_utils.profiles import PROFILES, get_profile
from lrp_utils.training import distributed
from lrp_utils.training.checkpoint import CheckpointError
from lrp_utils.training.ensure import ensure_trained


def parse_override(text: str) -> tuple[str, Any]:
    """``KEY=VALUE`` -> ``(KEY, value)``; the value read as a Python literal (``96``, ``1e-4``,
    ``None``, ``[0, 1]``), else kept as a string (a path, a corpus name)."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"--set expects KEY=VALUE (a profile field), got {text!r}")
    try:
        return key.strip(), ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return key.strip(), value


def parser() -> argparse.ArgumentParser:
    """The command-line interface (``--help``)."""
    cli = argparse.ArgumentParser(prog="python -m lrp_utils.training",
                                  description=__doc__.split("\n")[0])
    cli.add_argument("--profile", default="cpu", choices=list(PROFILES))
    cli.add_argument("--architecture", default="alexnet", choices=list(ARCHITECTURES))
    cli.add_argument("--seed", type=int, default=None,
                     help="training seed (default: the profile's)")
    cli.add_argument("--device", default="auto",
                     help="auto, cpu, cuda (under torchrun each process takes GPU "
                          "LOCAL_RANK) or mps")
    cli.add_argument("--backend", default="auto", choices=list(distributed.BACKENDS),
                     help="process-group backend under torchrun (auto: nccl on GPUs, gloo on "
                          "the CPU)")
    cli.add_argument("--timeout-minutes", type=float, default=None,
                     help="how long ranks wait for each other (default: torch's, 30 min on gloo, "
                          "10 on NCCL); raise it when rank 0 first builds a large feature cache")
    cli.add_argument("--artifacts-dir", default=None,
                     help="where <profile>/models/ lives (default: artifacts/)")
    cli.add_argument("--set", dest="overrides", action="append", default=[], type=parse_override,
                     metavar="KEY=VALUE", help="override a profile field (repeatable)")
    cli.add_argument("--no-progress", action="store_true", help="no progress bars")
    return cli


def main(argv: list[str] | None = None) -> int:
    """Run the command; 0 on success, 1 (with the message on stderr) for a bad request."""
    cli = parser()
    args = cli.parse_args(argv)
    overrides = dict(args.overrides)
    if "device" in overrides:
        cli.error("give the device as --device, not --set device=...")
    rank, world = 0, 1
    try:
        device = distributed.init_from_env(args.backend, args.device, args.timeout_minutes)
        rank, world = distributed.get_rank(), distributed.get_world_size()
        profile = get_profile(args.profile, **overrides, device=device.type)
        progress = not args.no_progress and rank == 0
        corpus = distributed.main_first(lambda: resolve_corpus(profile, progress))
        result = ensure_trained(profile, args.architecture, seed=args.seed, data_source=corpus,
                                artifacts_dir=args.artifacts_dir, progress=progress)
    except (ValueError, CorpusError, CheckpointError) as error:
        print(f"error{f' (rank {rank})' if world > 1 else ''}: {error}", file=sys.stderr)
        return 1
    finally:
        distributed.shutdown()
    if rank == 0:
        print(summary(result, world))
    return 0


def summary(result, world: int) -> str:
    """What was trained, where it is, and how the batch was split."""
    config = result.config
    best = result.history[result.best_epoch]["validation"] if result.history else {}
    lines = [f"checkpoint: {result.checkpoint_path}",
             f"{config.architecture}, profile {config.profile}, seed {config.seed}: "
             f"{len(result.history)} epochs, best epoch {result.best_epoch + 1} "
             f"(validation accuracy {best.get('accuracy', float('nan')):.4f})",
             f"processes: {world}; global batch {config.batch_size}"
             + (f" = {world} x {config.batch_size // world} per process" if world > 1 else "")]
    if result.test_metrics:
        lines.append(f"test accuracy {result.test_metrics['accuracy']:.4f} "
                     f"(n = {result.test_metrics['n']})")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
