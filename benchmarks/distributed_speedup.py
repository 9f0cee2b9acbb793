"""Speed-up of data-parallel training (torch.distributed, as torchrun runs it) over one process.

One epoch (training and validation) of a small AlexNet and of the speaker ResNet, trained by the
project's own :func:`lrp_utils.training.train` on random inputs of the profiles' shapes, in
*setups* ``PxT``: ``P`` processes (a gloo group on the CPU, NCCL with ``--device cuda``) of ``T``
CPU threads each.  The default compares, on this machine's 2 cores,

- ``1x2``: one process using both cores (how training runs without torchrun),
- ``2x1``: two processes of one thread each (torchrun --nproc_per_node=2: the same cores, split),
- ``1x1``: one process on one core (what a second process is added to);

the global batch is the same in every setup (each of ``P`` processes takes ``B / P`` items of
it).  Each setup runs ``--repeats`` epochs from scratch; the fastest counts (other jobs on the
machine only ever slow a run down).  Speed-ups are relative to the first setup.  Writes
``benchmarks/results/distributed_speedup.json`` and ``distributed_speedup.md``; ``--tag`` adds a
suffix.

    python benchmarks/distributed_speedup.py                                    # CPU, gloo
    python benchmarks/distributed_speedup.py --device cuda --setups 1x8 8x1 --tag h100  # GPUs
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import socket
import tempfile
from pathlib import Path

import torch
import torch.multiprocessing as mp
from torch.utils.data import TensorDataset

from lrp_utils.io import REPO_ROOT, atomic_write, write_json
from lrp_utils.training import TrainConfig, distributed, train

RESULTS_DIR = REPO_ROOT / "benchmarks" / "results"

#: (name, architecture, model kwargs, input shape, classes, train items, validation items, batch)
CASES = {
    "alexnet": ("alexnet", {}, (1, 227, 227), 2, 192, 64, 32),
    "resnet": ("resnet", {"base_width": 8}, (1, 64, 64), 60, 1024, 256, 64),
}


def datasets(case: str) -> dict[str, TensorDataset]:
    """Seeded random inputs of the case's shape (the speed does not depend on the values)."""
    _, _, shape, classes, n_train, n_val, _ = CASES[case]
    generator = torch.Generator().manual_seed(0)
    n = n_train + n_val
    x = torch.randn(n, *shape, generator=generator)
    y = torch.randint(0, classes, (n,), generator=generator)
    return {"train": TensorDataset(x[:n_train], y[:n_train]),
            "validation": TensorDataset(x[n_train:], y[n_train:])}


def worker(rank: int, world: int, port: int, threads: int, device: str, case: str, repeats: int,
           out: str) -> None:
    """One process of a setup: join the group (if ``world > 1``), train ``repeats`` epochs from
    scratch, and (rank 0) save the epochs' seconds."""
    os.environ.update(RANK=str(rank), WORLD_SIZE=str(world), LOCAL_RANK=str(rank),
                      MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(threads)
    resolved = distributed.init_from_env("auto", device)
    architecture, kwargs, _, classes, _, _, batch = CASES[case]
    seconds = []
    for repeat in range(repeats):
        config = TrainConfig(architecture, 1, batch, 1e-4, seed=repeat, model_kwargs=kwargs,
                             profile="benchmark", tag=case, device=resolved.type,
                             num_threads=threads, num_classes=classes)
        with tempfile.TemporaryDirectory() as folder:
            result = train(config, datasets(case), Path(folder) / "run.pt", progress=False)
        seconds.append(result.history[0]["seconds"])
    if rank == 0:
        torch.save(seconds, Path(out) / "seconds.pt")
    distributed.shutdown()


def measure(case: str, processes: int, threads: int, device: str, repeats: int) -> list[float]:
    """Seconds per epoch of each repeat, with ``processes`` processes of ``threads`` threads."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with tempfile.TemporaryDirectory() as out:
        mp.spawn(worker, args=(processes, port, threads, device, case, repeats, out),
                 nprocs=processes)
        return torch.load(Path(out) / "seconds.pt")


def setup(text: str) -> tuple[int, int]:
    """``"2x1"`` -> ``(2, 1)``: processes and threads per process."""
    try:
        processes, threads = (int(part) for part in text.split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"a setup is PxT (processes x threads), got {text!r}") from None
    if processes < 1 or threads < 1:
        raise argparse.ArgumentTypeError(f"processes and threads must be positive, got {text!r}")
    return processes, threads


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--setups", nargs="+", type=setup, default=[(1, 2), (2, 1), (1, 1)],
                        metavar="PxT", help="P processes of T threads each (default: 1x2 2x1 1x1)")
    parser.add_argument("--device", default="cpu", help="cpu (gloo) or cuda (NCCL, a GPU each)")
    parser.add_argument("--cases", nargs="+", default=list(CASES), choices=list(CASES))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--tag", default="", help="suffix of the result files")
    args = parser.parse_args()
    load_before = round(os.getloadavg()[0], 2)
    rows = []
    for case in args.cases:
        for processes, threads in args.setups:
            seconds = measure(case, processes, threads, args.device, args.repeats)
            _, _, shape, _, n_train, n_val, batch = CASES[case]
            row = {"model": case, "input": "x".join(map(str, shape)), "train": n_train,
                   "validation": n_val, "global_batch": batch, "processes": processes,
                   "threads_per_process": threads, "seconds": [round(s, 2) for s in seconds],
                   "best_seconds": round(min(seconds), 2)}
            print(row, flush=True)
            rows.append(row)
    for row in rows:
        first = next(r for r in rows if r["model"] == row["model"])
        row["speedup"] = round(first["best_seconds"] / row["best_seconds"], 2)
    name = "distributed_speedup" + (f"_{args.tag}" if args.tag else "")
    meta = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "device": args.device, "backend": "nccl" if args.device.startswith("cuda") else "gloo",
            "cpu_count": os.cpu_count(), "repeats": args.repeats,
            "load_average_1min_before": load_before,
            "load_average_1min_after": round(os.getloadavg()[0], 2),
            "torch": torch.__version__, "platform": platform.platform()}
    write_json(RESULTS_DIR / f"{name}.json", {"meta": meta, "results": rows})
    lines = [f"# Data-parallel training speed-up ({meta['date']})", "",
             f"torch {meta['torch']}, {meta['platform']}, device {args.device} "
             f"({meta['backend']}); 1-min load average "
             f"{load_before} before, {meta['load_average_1min_after']} after, on "
             f"{meta['cpu_count']} cores. One epoch = training + validation; best of "
             f"{args.repeats}; speed-up relative to the first setup.", "",
             "| model | input | train / validation | global batch | processes x threads "
             "| s per epoch (each run) | best | speed-up |",
             "| --- | --- | --- | ---: | --- | --- | ---: | ---: |"]
    lines += [f"| {r['model']} | {r['input']} | {r['train']} / {r['validation']} "
              f"| {r['global_batch']} | {r['processes']} x {r['threads_per_process']} "
              f"| {', '.join(map(str, r['seconds']))} | {r['best_seconds']} | {r['speedup']} |"
              for r in rows]
    with atomic_write(RESULTS_DIR / f"{name}.md", "w") as handle:
        handle.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
