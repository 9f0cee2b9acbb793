"""Several processes, one training: ``torch.distributed`` as ``torchrun`` launches it.

``torchrun --nproc_per_node=N -m lrp_utils.training ...`` starts ``N`` copies of the program
and tells each, through environment variables (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``,
``MASTER_ADDR``, ``MASTER_PORT``), who it is and where to meet the others.  This module turns
those into a process group (:func:`init_from_env`) and gives training and evaluation what they
need to split work over the group and put the pieces back together:

- who am I: :func:`get_rank`, :func:`get_world_size`, :func:`is_main_process` (rank 0 alone
  writes files);
- what to train on: :class:`EpochShardSampler` -- each epoch's global order is the one a single
  process uses (:func:`epoch_order`, from ``(seed, epoch)``), cut into global batches of the
  profile's batch size, and each global batch split over the ranks (``B / W`` items each);
- what to evaluate or explain: :func:`batch_shard` -- a contiguous run of whole batches per
  rank, so each rank computes exactly the batches a single process computes;
- putting it back: :func:`gather_objects` and :func:`gather_rows` (in rank order, which is the
  original item order), :func:`run_on_main` and :func:`main_first` (rank 0 reads or builds,
  everyone gets its answer or its error), :func:`run_everywhere` (one rank's error stops all).

Without ``torchrun`` (no process group) every function answers as a world of one process: rank
0, nothing to gather, nothing to wait for -- so the same code runs unchanged in one process.

Backends: NCCL on CUDA GPUs (one GPU per process, ``cuda:LOCAL_RANK``), gloo on the CPU.
"""

from __future__ import annotations

import datetime
import os
from typing import Any, Callable, TypeVar

import torch
import torch.distributed as dist
from torch import nn
from torch.utils.data import DataLoader, Dataset
from torch.utils.data.distributed import DistributedSampler

from lrp_utils import devices
from lrp_utils.seeding import derive_seed, make_generator

#: Backends :func:`init_from_env` accepts (``auto``: NCCL on CUDA, gloo otherwise).
BACKENDS = ("auto", "gloo", "nccl")

#: The variables torchrun sets in every process it starts.
TORCHRUN_VARIABLES = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")

T = TypeVar("T")


# --- the process group ------------------------------------------------------------------------

def launched_by_torchrun() -> bool:
    """Whether the environment describes a process group of more than one process
    (``WORLD_SIZE`` above 1)."""
    return _integer_variable("WORLD_SIZE", "1") > 1


def init_from_env(backend: str = "auto", device: str | torch.device = "auto",
                  timeout_minutes: float | None = None) -> torch.device:
    """Join the process group that torchrun's environment variables describe; this rank's device.

    Parameters
    ----------
    backend:
        ``"auto"`` (NCCL when ``device`` resolves to CUDA, else gloo), ``"nccl"`` or ``"gloo"``.
    device:
        As :func:`lrp_utils.devices.resolve_device`; under torchrun a CUDA device becomes
        ``cuda:LOCAL_RANK`` (one GPU per process), so give ``"cuda"`` or ``"auto"``, not an index.
    timeout_minutes:
        How long a collective waits for the slowest rank before failing (``None``: torch's
        default, 30 min for gloo, 10 min for NCCL).  Raise it when rank 0 builds a large feature
        cache while the others wait (:func:`main_first`).

    Without torchrun (``WORLD_SIZE`` unset or 1) nothing is joined and the resolved device is
    returned: a single process runs exactly as it always did.  Calling it again once the group
    exists only returns the device.

    Raises
    ------
    ValueError
        For an unknown backend; NCCL asked for without CUDA GPUs (or in a torch built without
        NCCL); a CUDA device with an index under torchrun; more processes on a node than GPUs;
        torchrun variables missing or not integers.
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    if timeout_minutes is not None and not timeout_minutes > 0:
        raise ValueError(f"timeout_minutes must be positive (or None for torch's default), got "
                         f"{timeout_minutes!r}")
    if not launched_by_torchrun():
        if backend == "nccl":
            _check_nccl(devices.resolve_device(device))
        return devices.resolve_device(device)
    env = _torchrun_env()
    resolved = devices.resolve_device(device)
    if backend == "auto":
        backend = "nccl" if resolved.type == "cuda" else "gloo"
    if backend == "nccl":
        _check_nccl(resolved)
    if resolved.type == "cuda":
        resolved = _local_gpu(resolved, env["LOCAL_RANK"])
    if not dist.is_initialized():
        timeout = None if timeout_minutes is None else datetime.timedelta(minutes=timeout_minutes)
        dist.init_process_group(
            backend, init_method="env://", rank=env["RANK"], world_size=env["WORLD_SIZE"],
            timeout=timeout, device_id=resolved if backend == "nccl" else None)
    return resolved


def _torchrun_env() -> dict[str, int]:
    missing = [name for name in TORCHRUN_VARIABLES if name not in os.environ]
    if missing:
        raise ValueError(f"WORLD_SIZE={os.environ['WORLD_SIZE']} says this is one of several "
                         f"processes, but {', '.join(missing)} is not set; launch with torchrun "
                         f"(torchrun --nproc_per_node=N -m lrp_utils.training ...)")
    return {name: _integer_variable(name) for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK")}


def _integer_variable(name: str, default: str | None = None) -> int:
    value = os.environ.get(name, default)
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValueError(f"environment variable {name}={value!r} is not an integer; launch with "
                         f"torchrun") from None


def _check_nccl(device: torch.device) -> None:
    """NCCL needs CUDA GPUs and a torch built with it."""
    if device.type != "cuda" or not torch.cuda.is_available():
        raise ValueError(f"backend 'nccl' needs CUDA GPUs, but the device is {str(device)!r} "
                         f"(torch sees {torch.cuda.device_count()} GPU(s)); use backend 'gloo' "
                         f"(or 'auto') on the CPU, or run on a machine with GPUs")
    if not dist.is_nccl_available():
        raise ValueError("backend 'nccl' asked for, but this torch build has no NCCL; install a "
                         "CUDA build of torch or use backend 'gloo'")


def _local_gpu(device: torch.device, local_rank: int) -> torch.device:
    """``cuda:LOCAL_RANK``, made the current CUDA device."""
    if device.index is not None:
        raise ValueError(f"device {str(device)!r} names one GPU, but under torchrun each process "
                         f"uses GPU LOCAL_RANK; pass device 'cuda' or 'auto'")
    count = torch.cuda.device_count()
    if local_rank >= count:
        raise ValueError(f"LOCAL_RANK {local_rank} but this node has {count} GPU(s): "
                         f"--nproc_per_node must not exceed the GPUs per node (one GPU per "
                         f"process)")
    torch.cuda.set_device(local_rank)
    return torch.device("cuda", local_rank)


def shutdown() -> None:
    """Leave the process group (if any); the end of a torchrun program."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def is_distributed() -> bool:
    """Whether a process group of more than one process is running."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def get_rank() -> int:
    """This process's rank (0 without a process group)."""
    return dist.get_rank() if is_distributed() else 0


def get_world_size() -> int:
    """Number of processes (1 without a process group)."""
    return dist.get_world_size() if is_distributed() else 1


def is_main_process() -> bool:
    """Rank 0: the one process that writes checkpoints, histories and reports."""
    return get_rank() == 0


def barrier() -> None:
    """Wait until every rank has arrived (nothing to wait for in one process)."""
    if is_distributed():
        dist.barrier()


def rank_device(device: torch.device) -> torch.device:
    """The device this rank computes on: ``cuda`` becomes the current GPU (``cuda:LOCAL_RANK``
    once :func:`init_from_env` has run); other devices are returned as they are."""
    if device.type == "cuda" and device.index is None and is_distributed():
        return torch.device("cuda", torch.cuda.current_device())
    return device


def wrap_model(model: nn.Module, device: torch.device) -> nn.Module:
    """``model`` in :class:`~torch.nn.parallel.DistributedDataParallel` when distributed (its
    gradients are averaged over the ranks after every backward pass), else ``model`` itself.

    DDP starts every rank from rank 0's weights and broadcasts rank 0's buffers (BatchNorm's
    running statistics) before each forward pass; BatchNorm itself normalises each rank's share of
    the batch (``torch.nn.SyncBatchNorm`` would make the statistics global, at the cost of two
    all-reduces per layer; we keep the per-rank statistics DDP uses by default).
    """
    if not is_distributed():
        return model
    return nn.parallel.DistributedDataParallel(
        model, device_ids=[device.index] if device.type == "cuda" else None)


# --- splitting work ---------------------------------------------------------------------------

def rank_batch_size(batch_size: int, world: int | None = None) -> int:
    """The per-rank share ``B / W`` of a global batch ``B``; a ValueError unless ``W`` divides
    ``B``."""
    world = get_world_size() if world is None else world
    if batch_size % world:
        raise ValueError(
            f"the global batch_size {batch_size} does not split evenly over {world} processes; "
            f"choose a batch size divisible by the world size (e.g. "
            f"{max(world, batch_size - batch_size % world)}) or another --nproc_per_node")
    return batch_size // world


def epoch_order(n: int, seed: int, epoch: int) -> torch.Tensor:
    """The order in which one process visits ``n`` training items in ``epoch``.

    Defined by what single-process training does (:func:`lrp_utils.training.train`): a shuffling
    ``DataLoader`` whose generator is seeded with ``derive_seed(seed, "shuffle", epoch)``.  The
    order is read from such a loader over ``range(n)`` -- the permutation depends on the length
    only -- so that it stays the single process's order whatever torch's loader does internally.
    """
    loader = DataLoader(range(n), batch_size=max(n, 1), shuffle=True,
                        generator=make_generator(derive_seed(seed, "shuffle", epoch)))
    return next(iter(loader))


class EpochShardSampler(DistributedSampler):
    """Each rank's share of each epoch's global batches (a ``DistributedSampler``).

    The epoch's order is :func:`epoch_order` (the single process's, from ``(seed, epoch)``; call
    :meth:`set_epoch` before each epoch); it is cut into ``n // B`` global batches of
    ``batch_size`` ``B`` -- the last ``n mod B`` items of the order are left out, so that every
    optimiser step averages exactly ``B`` gradients -- and rank ``r`` takes items ``r, r + W,
    r + 2W, ...``.  A ``DataLoader`` with batch size :attr:`rank_batch_size` (``B / W``) over this
    sampler therefore gives rank ``r`` its ``B / W`` items of global batch ``j`` as its ``j``-th
    batch, and the ``W`` ranks together see the items of the single process's ``j``-th batch.

    Raises
    ------
    ValueError
        When ``W`` does not divide ``B``, when the world is larger than the dataset, or when the
        dataset holds fewer items than one global batch.
    """

    def __init__(self, dataset: Dataset, batch_size: int, seed: int, rank: int | None = None,
                 world: int | None = None) -> None:
        world = get_world_size() if world is None else world
        n = len(dataset)
        if world > n:
            raise ValueError(f"the world size {world} is larger than the training split ({n} "
                             f"items): every process needs items; launch fewer processes")
        per_rank = rank_batch_size(batch_size, world)
        if n < batch_size:
            raise ValueError(f"the training split holds {n} items, fewer than one global batch "
                             f"of {batch_size}; lower the batch size or train on more data")
        super().__init__(dataset, num_replicas=world,
                         rank=get_rank() if rank is None else rank,
                         shuffle=True, seed=seed, drop_last=True)
        self.batch_size = batch_size
        self.rank_batch_size = per_rank
        self.total_size = n // batch_size * batch_size
        self.num_samples = self.total_size // world

    def __iter__(self):
        order = epoch_order(len(self.dataset), self.seed, self.epoch)[: self.total_size]
        return iter(order[self.rank:: self.num_replicas].tolist())


def batch_shard(n: int, batch_size: int, rank: int | None = None,
                world: int | None = None) -> range:
    """The items of ``range(n)`` rank ``rank`` of ``world`` handles: a contiguous run of whole
    batches of ``batch_size``.

    With ``m = ceil(n / B)`` batches, rank ``r`` takes batches ``floor(r m / W)`` to
    ``floor((r + 1) m / W) - 1`` (shares differ by at most one batch; a rank may get none when
    there are fewer batches than ranks).  Each shard starts at a multiple of ``B``, so batching a
    shard by ``B`` gives exactly the batches a single process forms -- the same inputs, hence the
    same results, and concatenating the shards in rank order restores the original order.
    """
    rank = get_rank() if rank is None else rank
    world = get_world_size() if world is None else world
    if batch_size < 1 or n < 0 or not 0 <= rank < world:
        raise ValueError(f"batch_shard needs batch_size >= 1, n >= 0 and 0 <= rank < world, got "
                         f"batch_size={batch_size}, n={n}, rank={rank}, world={world}")
    batches = -(-n // batch_size)
    first, stop = rank * batches // world, (rank + 1) * batches // world
    return range(min(first * batch_size, n), min(stop * batch_size, n))


# --- putting it back together -----------------------------------------------------------------

def gather_objects(obj: T) -> list[T]:
    """Every rank's ``obj`` (picklable), in rank order, on every rank; ``[obj]`` in one process."""
    if not is_distributed():
        return [obj]
    gathered: list[Any] = [None] * get_world_size()
    dist.all_gather_object(gathered, obj)
    return gathered


def gather_rows(local: torch.Tensor) -> torch.Tensor:
    """Every rank's ``local`` rows ``(n_r, ...)``, concatenated in rank order, on every rank.

    The values are copied, never combined, so the result is bit-for-bit what the ranks computed.
    Ranks may hold different numbers of rows (zero too); the trailing shapes and dtype must
    agree.  The result is on ``local``'s device.  In one process ``local`` is returned as is.
    """
    if not is_distributed():
        return local
    counts = gather_objects((local.shape[0], tuple(local.shape[1:]), local.dtype))
    if len({(shape, dtype) for _, shape, dtype in counts}) != 1:
        raise ValueError(f"gather_rows: the ranks' rows disagree in shape or dtype: {counts}")
    width = max(count for count, _, _ in counts)
    device = _collective_device()
    padded = torch.zeros((width, *local.shape[1:]), dtype=local.dtype, device=device)
    padded[: local.shape[0]] = local.to(device)
    chunks = [torch.empty_like(padded) for _ in counts]
    dist.all_gather(chunks, padded)
    rows = [chunk[:count] for chunk, (count, _, _) in zip(chunks, counts)]
    return torch.cat(rows).to(local.device)


def _collective_device() -> torch.device:
    """Where the group's backend takes tensors: this rank's GPU for NCCL, the CPU for gloo."""
    if dist.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def run_on_main(fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)`` computed by rank 0 alone; its result -- or the exception it raised -- reaches
    every rank (pickled), so that no rank is left waiting for a rank that failed."""
    if not is_distributed():
        return fn(*args)
    box: list[Any] = [None]
    if is_main_process():
        try:
            box[0] = ("ok", fn(*args))
        except Exception as error:  # sent on, raised on every rank below
            box[0] = ("error", error)
    dist.broadcast_object_list(box, src=0)
    status, value = box[0]
    if status == "error":
        raise value
    return value


def run_everywhere(fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)`` on every rank, each returning its own result; if it fails on some rank,
    every rank raises (its own error where it failed, else the lowest failing rank's) instead of
    waiting forever in the next collective for a rank that is gone."""
    if not is_distributed():
        return fn(*args)
    try:
        result, error = fn(*args), None
    except Exception as failure:  # shared with the other ranks below
        result, error = None, failure
    failures = [failure for failure in gather_objects(error) if failure is not None]
    if failures:
        raise error if error is not None else failures[0]
    return result


def main_first(fn: Callable[[], T]) -> T:
    """``fn()`` on rank 0 first, then -- once it succeeded -- on the other ranks; each rank returns
    its own result.  For work that fills a shared cache (a corpus, feature files): rank 0 builds
    it, the others find it.  An error on rank 0 is raised on every rank."""
    if not is_distributed():
        return fn()
    built: dict[str, T] = {}

    def build() -> None:  # returns nothing: rank 0's result is not sent to the others
        built["result"] = fn()

    run_on_main(build)
    return built["result"] if is_main_process() else fn()


def epoch_seed(seed: int, epoch: int) -> int:
    """The seed of every generator of this rank in ``epoch`` (dropout masks, augmentation).

    One process: ``derive_seed(seed, "epoch", epoch)``, as always.  Several: each rank its own
    stream ``derive_seed(seed, "epoch", epoch, "rank", r, W)``, so that the ranks' shares of a
    batch do not get the same dropout masks.
    """
    if not is_distributed():
        return derive_seed(seed, "epoch", epoch)
    return derive_seed(seed, "epoch", epoch, "rank", get_rank(), get_world_size())
