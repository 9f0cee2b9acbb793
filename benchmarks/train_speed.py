"""Training throughput (samples/s) of the paper's two models on this machine.

Runs the project's own training step (:func:`lrp_utils.training.loop.train_epoch`: forward,
cross-entropy, backward, Adam step) on random inputs of the profiles' shapes -- AlexNet on
1x227x227 spectrograms, the speaker ResNet on 1x64xT fbanks -- on the CPU (with
``--threads`` threads) and, when present, on CUDA (float32 and mixed precision, each with and
without channels-last).  Writes ``benchmarks/results/train_speed.json`` and a markdown table
``train_speed.md`` beside it; ``--tag`` adds a suffix (``train_speed_<tag>.json``) so that
results of several machines can sit side by side.

    python benchmarks/train_speed.py                 # CPU (+ CUDA when available)
    python benchmarks/train_speed.py --quick         # fewer batches, for a smoke check
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import time
from pathlib import Path

import torch
from torch.utils.data import DataLoader, TensorDataset

from lrp_utils.io import REPO_ROOT, atomic_write, write_json
from lrp_utils.models import AlexNet, SpeakerResNet
from lrp_utils.profiles import PROFILES
from lrp_utils.seeding import seed_everything
from lrp_utils.training.loop import train_epoch

RESULTS_DIR = REPO_ROOT / "benchmarks" / "results"


def cases() -> list[dict]:
    """(model, input shape) cases: AlexNet, and the speaker ResNet of each profile."""
    out = [{"model": "alexnet", "kwargs": {}, "shape": (1, 227, 227), "classes": 2}]
    seen = set()
    for profile in PROFILES.values():
        key = (profile.resnet_width, profile.resnet_frames)
        if key not in seen:
            seen.add(key)
            out.append({"model": "resnet", "kwargs": {"base_width": key[0]},
                        "shape": (1, 64, key[1]), "classes": 60,
                        "note": f"width {key[0]}, {key[1]} frames ({profile.name})"})
    return out


def measure(case: dict, batch_size: int, batches: int, device: torch.device,
            amp: bool, channels_last: bool) -> float:
    """Samples/s of ``batches`` training batches (after one warm-up batch)."""
    seed_everything(0)
    cls = AlexNet if case["model"] == "alexnet" else SpeakerResNet
    model = cls(case["classes"], **case["kwargs"]).to(device)
    if channels_last:
        model.to(memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
    scaler = torch.amp.GradScaler(device.type, enabled=amp)
    n = batch_size * (batches + 1)
    data = TensorDataset(torch.randn(n, *case["shape"]), torch.randint(0, case["classes"], (n,)))
    warmup = DataLoader(torch.utils.data.Subset(data, range(batch_size)), batch_size=batch_size)
    train_epoch(model, warmup, optimizer, scaler, device, amp, channels_last)
    loader = DataLoader(torch.utils.data.Subset(data, range(batch_size, n)), batch_size=batch_size)
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    train_epoch(model, loader, optimizer, scaler, device, amp, channels_last)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return batch_size * batches / (time.perf_counter() - start)


def variants(device: torch.device, cpu_channels_last: bool) -> list[tuple[bool, bool]]:
    """(mixed precision, channels-last) combinations worth measuring on ``device``.

    Channels-last on the CPU is opt-in (``--cpu-channels-last``): it showed no consistent gain,
    and one run here (torch 2.9.1, a busy machine) aborted with a heap error inside it.
    """
    if device.type == "cuda":
        return [(False, False), (False, True), (True, False), (True, True)]
    return [(False, False), (False, True)] if cpu_channels_last else [(False, False)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")
    parser.add_argument("--batches", type=int, default=5, help="timed batches per case")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[32, 64])
    parser.add_argument("--quick", action="store_true", help="2 batches, batch size 32 only")
    parser.add_argument("--tag", default="", help="suffix of the result files")
    parser.add_argument("--cpu-channels-last", action="store_true",
                        help="also measure channels-last on the CPU")
    args = parser.parse_args()
    if args.quick:
        args.batches, args.batch_sizes = 2, [32]
    torch.set_num_threads(args.threads)
    devices = [torch.device("cpu")] + ([torch.device("cuda")] if torch.cuda.is_available() else [])
    rows = []
    for device in devices:
        for case in cases():
            for batch_size in args.batch_sizes:
                for amp, channels_last in variants(device, args.cpu_channels_last):
                    speed = measure(case, batch_size, args.batches if device.type == "cpu"
                                    else 4 * args.batches, device, amp, channels_last)
                    row = {"device": str(device), "model": case["model"],
                           "input": "x".join(map(str, case["shape"])),
                           "config": case.get("note", "Becker Caffe layout"),
                           "batch_size": batch_size, "mixed_precision": amp,
                           "channels_last": channels_last, "samples_per_s": round(speed, 1)}
                    print(row, flush=True)
                    rows.append(row)
    name = "train_speed" + (f"_{args.tag}" if args.tag else "")
    meta = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "load_average_1min_at_end": round(os.getloadavg()[0], 2),
            "cpu_count": os.cpu_count(),
            "torch": torch.__version__, "platform": platform.platform(),
            "cpu_threads": args.threads,
            "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
            "batches": args.batches}
    write_json(RESULTS_DIR / f"{name}.json", {"meta": meta, "results": rows})
    lines = [f"# Training throughput ({meta['date']})", "",
             f"torch {meta['torch']}, {meta['platform']}, {args.threads} CPU threads"
             + (f", GPU {meta['gpu']}" if meta["gpu"] else "")
             + f"; 1-min load average {meta['load_average_1min_at_end']} on {meta['cpu_count']} "
               "cores (other jobs slow the CPU numbers when it exceeds the thread count)", "",
             "| device | model | config | input | batch | AMP | channels-last | samples/s |",
             "| --- | --- | --- | --- | ---: | --- | --- | ---: |"]
    lines += [f"| {r['device']} | {r['model']} | {r['config']} | {r['input']} | {r['batch_size']} "
              f"| {r['mixed_precision']} | {r['channels_last']} | {r['samples_per_s']} |" for r in rows]
    with atomic_write(RESULTS_DIR / f"{name}.md", "w") as handle:
        handle.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
