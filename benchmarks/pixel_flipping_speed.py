"""Cost of batched pixel flipping against plain forward passes (issue 5, paper section 4.2).

Target: one call of :func:`lrp_utils.evaluation.pixel_flipping` on a batch of 32 Becker
spectrograms (1x227x227) with ``F`` fractions costs at most 1.1x the time of ``F`` forward passes
of Becker's AlexNet on that batch -- the ranking (one sort per batch) and the masked copies must
be small next to the network.

    .venv/bin/python benchmarks/pixel_flipping_speed.py [--device cpu|cuda] [--repeats 5]

Writes ``benchmarks/results/pixel_flipping_speed[_<device>].json`` and ``.md`` (medians and the
ratio per order/baseline) atomically.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lrp_utils.evaluation import pixel_flipping  # noqa: E402
from lrp_utils.io import atomic_write, write_json  # noqa: E402
from lrp_utils.models import ALEXNET_INPUT_SHAPE, AlexNet  # noqa: E402
from lrp_utils.profiles import FIGURE3_FRACTIONS  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
TARGET_RATIO = 1.1
CONFIGS = (("relevance", 0.0), ("random", 0.0), ("relevance", "min"), ("relevance", "moore"))


def _time_once(fn, device: torch.device) -> float:
    """Wall time of one call of ``fn()`` (synchronising CUDA before and after)."""
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    fn()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    device = torch.device(args.device)

    torch.manual_seed(0)
    model = AlexNet(num_classes=2, seed=0).to(device).eval()
    x = (torch.rand((args.batch_size, *ALEXNET_INPUT_SHAPE), device=device) * -80.0)
    y = torch.randint(0, 2, (args.batch_size,), device=device)
    relevance = torch.randn_like(x)
    fractions = FIGURE3_FRACTIONS
    n = len(fractions)

    def reference():  # the ideal: one forward pass per fraction, nothing else
        with torch.no_grad():
            for _ in fractions:
                model(x)

    calls = {"reference": reference}
    for order, baseline in CONFIGS:
        calls[(order, baseline)] = (
            lambda o=order, b=baseline: pixel_flipping(model, x, y, relevance, fractions, order=o,
                                                      baseline=b, batch_size=args.batch_size,
                                                      progress=False))
    for fn in calls.values():  # warm-up
        fn()
    # Interleaved repeats: on a shared machine the load drifts, so every repeat times the
    # reference and each configuration back to back, and the ratio is taken per repeat.
    times = {key: [] for key in calls}
    for _ in range(args.repeats):
        for key, fn in calls.items():
            times[key].append(_time_once(fn, device))
    t_reference = statistics.median(times["reference"])
    t_forward = t_reference / n
    rows = []
    for order, baseline in CONFIGS:
        flips = times[(order, baseline)]
        ratio = statistics.median(f / r for f, r in zip(flips, times["reference"]))
        rows.append({"order": order, "baseline": str(baseline), "median_s": statistics.median(flips),
                     "ratio": ratio, "within_target": ratio <= TARGET_RATIO})
        print(f"{order:9s} baseline={baseline!s:6s} {rows[-1]['median_s']:.3f} s  ratio {ratio:.3f}")

    result = {
        "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda"
        else platform.processor() or platform.machine(),
        "torch": torch.__version__, "threads": torch.get_num_threads(),
        "batch_size": args.batch_size, "input_shape": list(ALEXNET_INPUT_SHAPE),
        "fractions": list(fractions), "repeats": args.repeats,
        "forward_median_s": t_forward, "reference_median_s": t_reference,
        "ratio": "median over repeats of pixel_flipping time / time of n forward passes",
        "target_ratio": TARGET_RATIO, "configs": rows,
    }
    stem = "pixel_flipping_speed" + ("" if device.type == "cpu" else f"_{device.type}")
    write_json(RESULTS / f"{stem}.json", result)
    lines = [
        f"# Pixel flipping speed ({device}, {result['device_name']}, torch {torch.__version__}, "
        f"{result['threads']} threads)", "",
        f"Becker AlexNet, batch {args.batch_size} x 1x227x227, {n} fractions "
        f"(Figure 3: {', '.join(f'{f:g}' for f in fractions)}); {args.repeats} interleaved "
        f"repeats after a warm-up.  Reference: {n} forward passes, median "
        f"{1000 * t_reference:.1f} ms ({1000 * t_forward:.1f} ms each).  Ratio: median over "
        f"repeats of (pixel_flipping time / reference time of the same repeat).", "",
        "| order | baseline | pixel_flipping (ms) | ratio to n x forward | <= 1.1 |",
        "| --- | --- | ---: | ---: | --- |",
    ]
    lines += [f"| {r['order']} | {r['baseline']} | {1000 * r['median_s']:.1f} | {r['ratio']:.3f} | "
              f"{'yes' if r['within_target'] else 'no'} |" for r in rows]
    with atomic_write(RESULTS / f"{stem}.md", "w") as handle:
        handle.write("\n".join(lines) + "\n")
    return result


if __name__ == "__main__":
    main()
