"""Tests of lrp_utils.training.distributed and of train() under a 2-process gloo group.

One module fixture spawns two CPU processes (torch.multiprocessing, gloo, a free port) that
train a tiny ResNet (finish, resume) and a tiny AlexNet without dropout (compared with one
process), and try a batch that does not split; the tests read what rank 0 saved.
"""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp
from torch.utils.data import DataLoader, TensorDataset

from lrp_utils.models import build_model
from lrp_utils.seeding import derive_seed, seed_everything
from lrp_utils.training import TrainConfig, load_checkpoint, train
from lrp_utils.training import distributed
from lrp_utils.training.__main__ import main as cli_main, parse_override
from lrp_utils.training.loop import _check_rank_batch, _epoch_loader

#: Two processes add the two halves of each batch's gradient in another order than one process
#: (the all-reduce): float32 rounding, ~1e-7 relative.  Adam divides each gradient entry by its
#: own running scale, so where an entry is near zero a rounding-sized change can change the step
#: by up to lr (1e-4 here).  Measured (4 steps, AlexNet without dropout): max |w_2 - w_1| =
#: 9.2e-6, in conv3/conv4; 0.009 % of the 12.8 M weights differ by more than 1e-6, while the
#: training moved 97 % of them by more than that (median 9e-5, max 4e-4).  Hence: at most lr / 4
#: anywhere, more than 1e-6 in under 0.1 %.
WEIGHT_TOLERANCE = 0.25 * 1e-4


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _spawn(worker, args: tuple, nprocs: int = 2, timeout_s: float = 240.0) -> None:
    """Run ``worker(rank, *args)`` in ``nprocs`` spawned processes; fail (and kill them) after
    ``timeout_s`` rather than hang on a collective that never completes."""
    context = mp.spawn(worker, args=args, nprocs=nprocs, join=False)
    deadline = time.monotonic() + timeout_s
    while not context.join(timeout=1.0):
        if time.monotonic() > deadline:
            for process in context.processes:
                process.kill()
            pytest.fail(f"the {nprocs} processes did not finish within {timeout_s} s")


def _join_group(rank: int, world: int, port: int) -> None:
    """What torchrun does for a worker: its variables, then the group from them."""
    os.environ.update(RANK=str(rank), WORLD_SIZE=str(world), LOCAL_RANK=str(rank),
                      MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    distributed.init_from_env("auto", "cpu")


# --- tiny tasks -------------------------------------------------------------------------------

def _resnet_datasets() -> dict:
    """36 / 12 / 12 items of 1x16x12, 3 classes (the models_tiny_datasets of conftest)."""
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(60, 1, 16, 12, generator=generator)
    y = torch.arange(60) % 3
    for label in range(3):
        x[y == label, :, 5 * label: 5 * label + 5] += 2.0
    return {"train": TensorDataset(x[:36], y[:36]), "validation": TensorDataset(x[36:48], y[36:48]),
            "test": TensorDataset(x[48:], y[48:])}


def _resnet_config(**changes) -> TrainConfig:
    fields = dict(architecture="resnet", epochs=3, batch_size=8, lr=1e-2, seed=0,
                  model_kwargs={"base_width": 2, "layers": [1, 1, 1, 1]}, profile="test",
                  tag="tiny", device="cpu", num_threads=1)
    fields.update(changes)
    return TrainConfig(**fields)


def _alexnet_datasets() -> dict:
    """16 training and 8 validation spectrogram-sized inputs, 2 classes told apart by a band."""
    generator = torch.Generator().manual_seed(1)
    x = torch.randn(24, 1, 227, 227, generator=generator)
    y = torch.arange(24) % 2
    x[y == 1, :, :40] += 1.0
    return {"train": TensorDataset(x[:16], y[:16]), "validation": TensorDataset(x[16:], y[16:])}


def _alexnet_config(**changes) -> TrainConfig:
    """No dropout: the two runs then compute the same mathematics (dropout masks are per rank)."""
    fields = dict(architecture="alexnet", epochs=2, batch_size=8, lr=1e-4, seed=0,
                  model_kwargs={"dropout": 0.0}, profile="test", tag="tiny", device="cpu",
                  num_threads=1, num_classes=2)
    fields.update(changes)
    return TrainConfig(**fields)


def _forbid_writing(*args, **kwargs):
    raise AssertionError("a rank other than 0 wrote a checkpoint")


def _two_rank_worker(rank: int, port: int, out: str) -> None:
    import lrp_utils.training.loop as loop

    torch.set_num_threads(1)
    _join_group(rank, 2, port)
    if rank != 0:
        loop.save_torch = _forbid_writing
    out = Path(out)
    report: dict = {}
    full = train(_resnet_config(), _resnet_datasets(), out / "full" / "run.pt", progress=False)
    report["full"] = {"last": full.last_state, "best": full.model.state_dict(),
                      "history": [(r["train"], r["validation"]) for r in full.history],
                      "test": full.test_metrics}
    cut = train(_resnet_config(), _resnet_datasets(), out / "cut" / "run.pt",
                stop_after_epochs=1, progress=False)
    report["cut_epochs"] = len(cut.history)
    resumed = train(_resnet_config(), _resnet_datasets(), out / "cut" / "run.pt", progress=False)
    report["resumed"] = {"last": resumed.last_state, "best": resumed.model.state_dict(),
                         "history": [(r["train"], r["validation"]) for r in resumed.history]}
    train(_resnet_config(), _resnet_datasets(), out / "handover" / "run.pt", stop_after_epochs=1,
          progress=False)  # finished by one process in a test below
    alexnet = train(_alexnet_config(), _alexnet_datasets(), out / "alexnet" / "run.pt",
                    progress=False)
    report["alexnet"] = alexnet.last_state
    try:
        train(_resnet_config(batch_size=9), _resnet_datasets(), out / "odd" / "run.pt",
              progress=False)
    except ValueError as error:
        report["odd_batch_error"] = str(error)
    torch.save(report, out / f"rank{rank}.pt")
    distributed.shutdown()


@pytest.fixture(scope="module")
def two_ranks(tmp_path_factory) -> Path:
    """The folder where the 2-process run left its checkpoints and reports."""
    out = tmp_path_factory.mktemp("two_ranks")
    _spawn(_two_rank_worker, (_free_port(), str(out)))
    return out


def _report(folder: Path, rank: int = 0) -> dict:
    return torch.load(folder / f"rank{rank}.pt", weights_only=False)


def _same_state(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


# --- the 2-process runs -----------------------------------------------------------------------

def test_two_processes_finish_and_rank_0_alone_writes_one_checkpoint(two_ranks):
    # rank 1 could not have written: its save_torch raised (and the run would have failed)
    assert sorted(p.name for p in (two_ranks / "full").iterdir()) == [
        "run.history.json", "run.pt", "run.pt.lock"]
    payload = load_checkpoint(two_ranks / "full" / "run.pt")
    assert payload["completed"] and payload["epoch"] == 3 and payload["world_size"] == 2
    record = json.loads((two_ranks / "full" / "run.history.json").read_text())
    assert record["world_size"] == 2 and len(record["history"]) == 3
    # 36 items in global batches of 8: four whole batches per epoch, the last 4 items left out
    assert all(r["train"]["n"] == 32 for r in record["history"])
    assert all(r["validation"]["n"] == 12 for r in record["history"])
    assert record["test"]["n"] == 12
    report = _report(two_ranks)
    assert _same_state(report["full"]["best"], payload["model_state"])


def test_every_rank_ends_with_the_same_model_and_history(two_ranks):
    ranks = [_report(two_ranks, 0), _report(two_ranks, 1)]
    # the selected weights are rank 0's on both (parameters are kept equal by DDP; BatchNorm's
    # running statistics are rank 0's, broadcast before each forward pass)
    params = [name for name, _ in build_model("resnet", num_speakers=3, base_width=2,
                                              layers=[1, 1, 1, 1]).named_parameters()]
    last = [rank["full"]["last"] for rank in ranks]
    assert all(torch.equal(last[0][n], last[1][n]) for n in params)
    assert ranks[0]["full"]["history"] == ranks[1]["full"]["history"]
    assert ranks[0]["full"]["test"] == ranks[1]["full"]["test"]


def test_an_interrupted_two_process_run_resumes_to_the_uninterrupted_weights(two_ranks):
    report = _report(two_ranks)
    assert report["cut_epochs"] == 1
    assert _same_state(report["full"]["last"], report["resumed"]["last"])
    assert _same_state(report["full"]["best"], report["resumed"]["best"])
    assert report["full"]["history"] == report["resumed"]["history"]


def test_one_process_resumes_what_two_processes_began(two_ranks):
    path = two_ranks / "handover" / "run.pt"
    begun = load_checkpoint(path)
    assert not begun["completed"] and begun["world_size"] == 2
    finished = train(_resnet_config(), _resnet_datasets(), path, progress=False)
    assert finished.completed and len(finished.history) == 3
    assert finished.history[0] == begun["history"][0]
    assert finished.history[1]["train"]["n"] == 36  # one process: every item, a last batch of 4
    assert load_checkpoint(path)["world_size"] == 1


def test_two_processes_match_one_process_with_the_same_global_batch(two_ranks, tmp_path):
    torch.set_num_threads(1)
    single = train(_alexnet_config(), _alexnet_datasets(), tmp_path / "one.pt", progress=False)
    seed_everything(derive_seed(0, "init"))  # the initialisation train() starts from
    init = build_model("alexnet", num_classes=2, dropout=0.0).state_dict()
    two = _report(two_ranks)["alexnet"]
    diffs = torch.cat([(two[k] - single.last_state[k]).abs().flatten() for k in two])
    moved = torch.cat([(single.last_state[k] - init[k]).abs().flatten() for k in two])
    assert float(diffs.max()) <= WEIGHT_TOLERANCE, float(diffs.max())
    assert float((diffs > 1e-6).float().mean()) < 1e-3
    # ... while training moved most weights by more than that
    assert float((moved > 1e-6).float().mean()) > 0.5 and float(moved.max()) > 10 * WEIGHT_TOLERANCE


def test_a_batch_that_does_not_split_is_a_clear_error_on_every_rank(two_ranks):
    for rank in (0, 1):
        message = _report(two_ranks, rank)["odd_batch_error"]
        assert "batch_size 9 does not split evenly over 2 processes" in message
    assert not (two_ranks / "odd" / "run.pt").exists()


# --- the sampler: the single process's batches, split over the ranks ---------------------------

def _single_process_batches(n: int, batch_size: int, seed: int, epoch: int) -> list[list[int]]:
    """The batches of item indices that one-process training uses (its own loader)."""
    dataset = TensorDataset(torch.arange(n), torch.zeros(n, dtype=torch.long))
    config = _resnet_config(batch_size=batch_size, seed=seed)
    return [x.tolist() for x, _ in _epoch_loader(dataset, config, epoch, drop_last=False)]


@pytest.mark.parametrize("n, seed, epoch", [(37, 0, 0), (16, 3, 5)])
def test_epoch_order_is_the_order_of_single_process_training(n, seed, epoch):
    batches = _single_process_batches(n, 8, seed, epoch)
    assert distributed.epoch_order(n, seed, epoch).tolist() == [i for b in batches for i in b]
    assert distributed.epoch_order(n, seed, epoch + 1).tolist() != [i for b in batches for i in b]


@pytest.mark.parametrize("world", [1, 2, 4])
def test_the_ranks_together_see_each_global_batch_of_one_process(world):
    n, batch, seed, epoch = 37, 8, 2, 3
    single = _single_process_batches(n, batch, seed, epoch)
    per_rank = []
    for rank in range(world):
        sampler = distributed.EpochShardSampler(range(n), batch, seed, rank=rank, world=world)
        sampler.set_epoch(epoch)
        assert sampler.rank_batch_size == batch // world and len(sampler) == 32 // world
        per_rank.append([b.tolist() for b in DataLoader(range(n), batch_size=batch // world,
                                                        sampler=sampler)])
    assert all(len(batches) == n // batch for batches in per_rank)  # whole global batches only
    for j in range(n // batch):
        together = [i for batches in per_rank for i in batches[j]]
        assert sorted(together) == sorted(single[j]) and len(together) == batch


@pytest.mark.parametrize("n, batch, world, match", [
    (3, 4, 4, "world size 4 is larger than the training split \\(3 items\\)"),
    (37, 9, 2, "batch_size 9 does not split evenly over 2 processes"),
    (6, 8, 2, "holds 6 items, fewer than one global batch of 8"),
])
def test_bad_launches_are_clear_errors(n, batch, world, match):
    with pytest.raises(ValueError, match=match):
        distributed.EpochShardSampler(range(n), batch, 0, rank=0, world=world)


def test_batchnorm_needs_two_items_per_rank():
    resnet = build_model("resnet", num_speakers=3, base_width=2, layers=[1, 1, 1, 1])
    with pytest.raises(ValueError, match="one item per process, and the model's BatchNorm"):
        _check_rank_batch(resnet, 4, 4)
    _check_rank_batch(resnet, 8, 4)
    _check_rank_batch(build_model("alexnet", num_classes=2), 4, 4)  # no BatchNorm: one is fine


# --- batch shards ------------------------------------------------------------------------------

@pytest.mark.parametrize("n, batch, world, expected", [
    (10, 3, 2, [range(0, 6), range(6, 10)]),               # 4 batches: 2 + 2
    (10, 3, 3, [range(0, 3), range(3, 6), range(6, 10)]),  # 4 batches: 1 + 1 + 2
    (4, 3, 3, [range(0, 0), range(0, 3), range(3, 4)]),    # 2 batches, 3 ranks: one idle
])
def test_batch_shard_by_hand(n, batch, world, expected):
    assert [distributed.batch_shard(n, batch, r, world) for r in range(world)] == expected


@pytest.mark.parametrize("n", [0, 1, 7, 64, 65, 200])
@pytest.mark.parametrize("world", [1, 2, 3, 8])
def test_batch_shards_tile_the_items_in_order_at_batch_boundaries(n, world):
    shards = [distributed.batch_shard(n, 16, r, world) for r in range(world)]
    assert [i for shard in shards for i in shard] == list(range(n))
    assert all(shard.start % 16 == 0 for shard in shards if shard)


# --- one process: everything is the single-process behaviour -----------------------------------

def test_without_torchrun_there_is_one_rank_and_nothing_to_gather(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert distributed.init_from_env("auto", "cpu") == torch.device("cpu")
    assert not distributed.is_distributed()
    assert (distributed.get_rank(), distributed.get_world_size()) == (0, 1)
    rows = torch.arange(6.0).reshape(3, 2)
    assert distributed.gather_rows(rows) is rows
    assert distributed.gather_objects("x") == ["x"]
    assert distributed.run_on_main(lambda a: a + 1, 1) == 2
    assert distributed.main_first(lambda: 5) == 5
    assert distributed.epoch_seed(3, 4) == derive_seed(3, "epoch", 4)
    with pytest.raises(ZeroDivisionError):
        distributed.run_everywhere(lambda: 1 / 0)
    with pytest.raises(ValueError, match="timeout_minutes must be positive"):
        distributed.init_from_env("auto", "cpu", timeout_minutes=0)


@pytest.mark.parametrize("env, backend, device, match", [
    ({}, "nccl", "cpu", "backend 'nccl' needs CUDA GPUs"),
    ({"WORLD_SIZE": "2", "RANK": "0", "LOCAL_RANK": "0", "MASTER_ADDR": "127.0.0.1",
      "MASTER_PORT": "29500"}, "nccl", "cpu", "backend 'nccl' needs CUDA GPUs"),
    ({"WORLD_SIZE": "2", "RANK": "0", "LOCAL_RANK": "0"}, "auto", "cpu",
     "MASTER_ADDR, MASTER_PORT is not set; launch with torchrun"),
    ({"WORLD_SIZE": "2", "RANK": "zero", "LOCAL_RANK": "0", "MASTER_ADDR": "127.0.0.1",
      "MASTER_PORT": "29500"}, "auto", "cpu", "RANK='zero' is not an integer"),
    ({"WORLD_SIZE": "two"}, "auto", "cpu", "WORLD_SIZE='two' is not an integer"),
    ({}, "mpi", "cpu", "backend must be one of auto, gloo, nccl"),
])
def test_bad_process_groups_are_clear_errors_before_joining(monkeypatch, env, backend, device,
                                                             match):
    for name in distributed.TORCHRUN_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match=match):
        distributed.init_from_env(backend, device)
    assert not torch.distributed.is_initialized()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA not available")
def test_a_gpu_index_under_torchrun_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "2")
    for name, value in {"RANK": "0", "LOCAL_RANK": "0", "MASTER_ADDR": "127.0.0.1",
                        "MASTER_PORT": "29500"}.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match="under torchrun each process uses GPU LOCAL_RANK"):
        distributed.init_from_env("nccl", "cuda:0")


# --- the command line --------------------------------------------------------------------------

def test_overrides_are_read_as_python_literals_or_strings():
    assert parse_override("alexnet_batch_size=96") == ("alexnet_batch_size", 96)
    assert parse_override("alexnet_lr=1e-4") == ("alexnet_lr", 1e-4)
    assert parse_override("data_dir=/data/vox.csv") == ("data_dir", "/data/vox.csv")
    assert parse_override("folds=[0, 1]") == ("folds", [0, 1])


def test_the_command_trains_the_profiles_model_and_says_how_the_batch_was_split(
        monkeypatch, capsys, tmp_path):
    import lrp_utils.training.__main__ as cli
    calls = {}

    def fake_ensure_trained(profile, architecture, **kwargs):
        calls.update(profile=profile, architecture=architecture, **kwargs)
        return train(_resnet_config(epochs=1), _resnet_datasets(), tmp_path / "run.pt",
                     progress=False)

    monkeypatch.delenv("WORLD_SIZE", raising=False)
    monkeypatch.setattr(cli, "ensure_trained", fake_ensure_trained)
    monkeypatch.setattr(cli, "resolve_corpus", lambda profile, progress: "corpus")
    assert cli_main(["--profile", "smoke", "--architecture", "resnet", "--seed", "2", "--device",
                     "cpu", "--set", "resnet_batch_size=16", "--no-progress"]) == 0
    assert calls["architecture"] == "resnet" and calls["seed"] == 2
    assert calls["profile"].resnet_batch_size == 16 and calls["profile"].device == "cpu"
    assert calls["data_source"] == "corpus" and calls["progress"] is False
    out = capsys.readouterr().out
    assert f"checkpoint: {tmp_path / 'run.pt'}" in out and "processes: 1; global batch 8" in out


def test_the_command_reports_a_bad_request(monkeypatch, capsys):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert cli_main(["--set", "no_such_field=1"]) == 1
    assert "no_such_field" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli_main(["--set", "device=cpu"])
