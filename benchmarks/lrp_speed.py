"""Speed and peak memory of ``lrp_utils.lrp`` against the plain input gradient and Zennit.

Becker's AlexNet (Caffe layout, 1x227x227), batch 32, float32, on the CPU (and CUDA when present).
Methods: the input gradient; a reused ``Explainer`` with the ε composite and with the paper's γ
composite (it probed the model in its warm-up calls, as it does once per model); the one-call
``explain`` with the ε composite (a probe forward pass on one sample in every call); Zennit ε and γ.

- Time: all methods in one process with the normal allocator, after two warm-up calls each, timed
  in interleaved rounds (gradient, Explainer ε, Explainer γ, explain ε, Zennit ε, Zennit γ,
  gradient, ...), so that a machine that gets slower or faster during the run shifts every method
  alike; median per method.
- Memory: each method in fresh subprocesses: the peak of one call after a warm-up call (so one-time
  costs such as oneDNN kernels and lazy imports stay out), above the memory in use before it; on
  CPU the peak RSS, reset to the current RSS first (``/proc/self/clear_refs``), with a fixed glibc
  mmap threshold so that the RSS follows the live tensors, median over three processes;
  ``torch.cuda.max_memory_allocated`` on CUDA.

    python benchmarks/lrp_speed.py [--batch 32] [--repeats 9] [--threads N]

Writes ``benchmarks/results/lrp_speed.json`` and ``benchmarks/results/lrp_speed.md``.
Targets: the ε composite with a reused ``Explainer`` ≤ 1.15× the gradient's time and ≥ 2× faster
than Zennit; the paper's γ composite ≤ 1.6× the gradient's time; peak memory ≤ 1.5× the gradient's.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch
from torch import nn

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from lrp_utils.io import atomic_write, write_json  # noqa: E402
from lrp_utils.lrp import Composite, Epsilon, Explainer, explain, paper_composite  # noqa: E402
from lrp_utils.models import AlexNet  # noqa: E402

METHODS = ["gradient", "explainer_epsilon", "explainer_gamma", "explain_epsilon", "zennit_epsilon", "zennit_gamma"]
RESULTS = REPO / "benchmarks" / "results"


def zennit_composite(model: nn.Module, composite: Composite):
    """The Zennit composite applying the same rule to each layer as ``composite`` does."""
    from zennit import composites as zcomp
    from zennit import rules as zr
    from zennit import types as zt

    from lrp_utils.lrp import Gamma, Zero

    def convert(rule):
        if isinstance(rule, Gamma):
            return zr.Gamma(rule.gamma, stabilizer=rule.stabilizer)
        if isinstance(rule, Zero):
            return zr.Epsilon(1e-30)
        return zr.Epsilon(rule.epsilon)

    table = composite.resolve(model)
    name_map = [((name,), convert(rule)) for name, rule in table.items()]
    return zcomp.MixedComposite(
        [zcomp.NameMapComposite(name_map), zcomp.LayerMapComposite([(zt.Activation, zr.Pass()), (zt.AvgPool, zr.Norm())])]
    )


def make_runner(method: str, model: nn.Module, x: torch.Tensor, target: torch.Tensor):
    """A no-argument callable computing one batch of relevance (or the input gradient)."""
    composites = {"epsilon": Composite.uniform(Epsilon(0.25)), "gamma": paper_composite("gamma")}
    if method == "gradient":

        def run():
            leaf = x.detach().requires_grad_()
            logits = model(leaf)
            (grad,) = torch.autograd.grad(logits.gather(1, target[:, None]).sum(), leaf)
            return leaf.detach() * grad

        return run
    kind, name = method.split("_")
    if kind == "explainer":
        explainer = Explainer(model, composites[name])
        return lambda: explainer(x, target)
    if kind == "explain":
        return lambda: explain(model, x, target, composites[name])
    zcomposite = zennit_composite(model, composites[name])

    def run_zennit():
        leaf = x.detach().requires_grad_()
        with zcomposite.context(model) as modified:
            logits = modified(leaf)
            seed = torch.zeros_like(logits).scatter_(1, target[:, None], 1.0) * logits.detach()
            (relevance,) = torch.autograd.grad(logits, leaf, seed)
        return relevance

    return run_zennit


def synchronize(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def peak_rss() -> int:
    """This process's peak RSS in bytes (``VmHWM``: unlike ``getrusage``'s ``ru_maxrss``, which
    keeps the parent's peak across fork and exec, it belongs to this process's memory alone and is
    what :func:`reset_peak_rss` resets)."""
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM in /proc/self/status: peak memory on CPU needs Linux")


def reset_peak_rss() -> None:
    """Lower the process's peak RSS to its current RSS (Linux), so that a peak is measured above the
    memory in use, not above an earlier and higher peak (building the model)."""
    with open("/proc/self/clear_refs", "w") as handle:
        handle.write("5")


def setup(device: str, batch: int, threads: int) -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    """The benchmark's model, input (dB-like values) and targets, seeded."""
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = AlexNet(num_classes=2).to(device).eval()
    x = -80 * torch.rand(batch, 1, 227, 227, device=device)
    target = torch.randint(2, (batch,), device=device)
    return model, x, target


def peak_memory(method: str, device: str, batch: int, threads: int) -> int:
    """Peak memory in bytes of one call of ``method`` after a warm-up call, above the memory in use."""
    run = make_runner(method, *setup(device, batch, threads))
    run()  # warm-up: one-time costs (oneDNN kernels, autograd threads, lazy imports) stay out of the figures
    synchronize(device)
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
        baseline = torch.cuda.memory_allocated()
        run()
        synchronize(device)
        return torch.cuda.max_memory_allocated() - baseline
    reset_peak_rss()
    baseline = peak_rss()
    run()
    return peak_rss() - baseline


def interleaved_times(device: str, batch: int, repeats: int, threads: int) -> dict[str, list[float]]:
    """Seconds per call of every method, timed in ``repeats`` interleaved rounds after two warm-ups."""
    model, x, target = setup(device, batch, threads)
    runners = {method: make_runner(method, model, x, target) for method in METHODS}
    for run in runners.values():
        run(), run()
    times: dict[str, list[float]] = {method: [] for method in METHODS}
    for _ in range(repeats):
        for method, run in runners.items():
            synchronize(device)
            start = time.perf_counter()
            run()
            synchronize(device)
            times[method].append(time.perf_counter() - start)
    return times


def memory_in_subprocesses(method: str, device: str, args) -> list[int]:
    """Peak memory of ``method`` in ``args.memory_runs`` fresh processes (it varies by a few MiB)."""
    command = [sys.executable, __file__, "--worker", method, "--device", device, "--batch", str(args.batch),
               "--threads", str(args.threads)]
    # A fixed mmap threshold makes glibc return every large block to the OS when it is freed, so the
    # peak RSS follows the live tensors instead of the allocator's caching.
    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_="65536")
    return [int(subprocess.run(command, check=True, capture_output=True, text=True, env=env).stdout.split()[-1])
            for _ in range(args.memory_runs)]


def markdown(report: dict) -> str:
    lines = [f"# LRP speed ({report['machine']}, torch {report['torch']}, batch {report['batch']}, float32)", "",
             "Load average (1, 5, 15 min) at the start {} and at the end {}; times are medians of "
             "interleaved rounds, memory the median of {} processes.".format(
                 tuple(round(v, 2) for v in report["load_average"]),
                 tuple(round(v, 2) for v in report["load_average_end"]), report["memory_runs"]), ""]
    for device, rows in report["devices"].items():
        lines += [f"## {device}", "", "| method | median s | × gradient | peak MiB | memory × gradient |", "|---|---|---|---|---|"]
        for method, row in rows.items():
            lines.append(
                f"| {method} | {row['median_s']:.3f} | {row['time_ratio']:.2f} | {row['peak_bytes'] / 2**20:.0f} "
                f"| {row['memory_ratio']:.2f} |"
            )
        lines += ["", "Speed-up of a reused Explainer over Zennit: ε {:.2f}×, γ {:.2f}×; the one-call explain "
                  "(probe included) with ε takes {:.2f}× the gradient's time.".format(
                      rows["zennit_epsilon"]["median_s"] / rows["explainer_epsilon"]["median_s"],
                      rows["zennit_gamma"]["median_s"] / rows["explainer_gamma"]["median_s"],
                      rows["explain_epsilon"]["time_ratio"]), ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=9, help="interleaved timing rounds")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--memory-runs", type=int, default=3, help="processes whose peak memory is the median")
    parser.add_argument("--device", default=None, help="cpu or cuda (default: both where available)")
    parser.add_argument("--worker", choices=METHODS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(peak_memory(args.worker, args.device, args.batch, args.threads))
        return
    devices = [args.device] if args.device else ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    report = {"machine": f"{platform.machine()}, {os.cpu_count()} cores", "torch": torch.__version__,
              "batch": args.batch, "threads": args.threads, "memory_runs": args.memory_runs,
              "load_average": os.getloadavg(), "devices": {}}
    for device in devices:
        print(f"{device}: timing {len(METHODS)} methods in {args.repeats} rounds ...", file=sys.stderr, flush=True)
        times = interleaved_times(device, args.batch, args.repeats, args.threads)
        rows = {}
        for method in METHODS:
            print(f"{device}: memory of {method} ...", file=sys.stderr, flush=True)
            peaks = memory_in_subprocesses(method, device, args)
            rows[method] = {"median_s": statistics.median(times[method]), "times_s": times[method],
                            "peak_bytes": statistics.median(peaks), "peak_bytes_runs": peaks}
        for row in rows.values():
            row["time_ratio"] = row["median_s"] / rows["gradient"]["median_s"]
            row["memory_ratio"] = row["peak_bytes"] / rows["gradient"]["peak_bytes"]
        report["devices"][device] = rows
    report["load_average_end"] = os.getloadavg()
    RESULTS.mkdir(parents=True, exist_ok=True)
    write_json(RESULTS / "lrp_speed.json", report)
    with atomic_write(RESULTS / "lrp_speed.md", "w") as handle:
        handle.write(markdown(report) + "\n")
    print(markdown(report))


if __name__ == "__main__":
    main()
