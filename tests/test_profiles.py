"""Tests of lrp_utils.profiles: the three profiles, overrides and validation."""

from __future__ import annotations

import dataclasses
import json

import pytest

from lrp_utils.profiles import (DEFAULT_PROFILE, PROFILES, FIGURE3_FRACTIONS, Profile,
                                field_names, get_profile)


def test_the_three_profiles_exist_and_cpu_is_default():
    assert set(PROFILES) == {"smoke", "cpu", "paper"}
    assert DEFAULT_PROFILE == "cpu"
    assert get_profile().name == "cpu"
    for name, profile in PROFILES.items():
        assert profile.name == name and profile.description


def test_paper_profile_has_the_papers_settings():
    paper = get_profile("paper")
    assert paper.corpus == "audiomnist"
    assert paper.alexnet_epochs == 200
    assert paper.alexnet_lr == 1e-4
    assert paper.augment_fraction == 0.005
    assert paper.flip_baseline == 0.0
    assert max(paper.flip_fractions) == pytest.approx(0.1)
    assert max(paper.flip_fractions_zoom) == pytest.approx(0.01)


def test_smoke_is_smaller_than_cpu():
    smoke, cpu = get_profile("smoke"), get_profile("cpu")
    assert smoke.corpus == "synthetic"
    assert smoke.synthetic_repetitions < cpu.synthetic_repetitions
    assert smoke.resnet_width <= cpu.resnet_width
    assert cpu.synthetic_repetitions == 50  # full-size AudioMNIST-like corpus


def test_unknown_profile_lists_valid_ones():
    with pytest.raises(ValueError, match="smoke, cpu, paper"):
        get_profile("laptop")


def test_unknown_field_lists_valid_fields():
    with pytest.raises(ValueError, match=r"unknown profile field.*'epochs'.*alexnet_epochs"):
        get_profile("cpu", epochs=3)


def test_overrides_return_a_new_validated_profile():
    cpu = get_profile("cpu")
    changed = cpu.with_overrides(alexnet_epochs=7, seed=3)
    assert (changed.alexnet_epochs, changed.seed) == (7, 3)
    assert cpu.alexnet_epochs == PROFILES["cpu"].alexnet_epochs
    assert get_profile("smoke", fold=1).fold == 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        cpu.seed = 5  # type: ignore[misc]


def test_lists_from_papermill_become_tuples():
    profile = get_profile("cpu", seeds=[4, 5], flip_fractions=[0, 0.01])
    assert profile.seeds == (4, 5)
    assert profile.flip_fractions == (0, 0.01)


@pytest.mark.parametrize("field, value", [
    ("alexnet_epochs", 0), ("resnet_epochs", -1), ("alexnet_batch_size", 0),
    ("resnet_batch_size", 2.5), ("synthetic_repetitions", 0), ("resnet_width", 0),
    ("resnet_frames", 0), ("explain_batch_size", 0), ("finetune_epochs", 0),
    ("alexnet_lr", 0.0), ("resnet_lr", float("nan")), ("finetune_lr", -1e-3),
    ("flip_fractions", (0.0, 1.5)), ("flip_fractions", ()), ("flip_fractions_zoom", (-0.1,)),
    ("augment_fraction", 2.0), ("seeds", ()), ("seeds", (-1,)), ("seed", -1), ("fold", -2),
    ("alexnet_train_limit", 0), ("alexnet_eval_limit", -1), ("resnet_limit_per_split", -5), ("num_threads", 0),
    ("corpus", "timit"), ("device", "tpu"), ("flip_baseline", "max"),
    ("flip_baseline", float("inf")), ("alexnet_init", "xavier"), ("mixed_precision", "yes"),
    ("alexnet_epochs", True), ("faithfulness_samples", 0), ("faithfulness_fractions", (0.0, 2.0)),
    ("integrated_gradients_steps", 0), ("smoothgrad_samples", 0), ("smoothgrad_noise", 0.0),
    ("occlusion_window", 0),
])
def test_impossible_values_are_rejected_by_name(field, value):
    with pytest.raises(ValueError, match=field):
        get_profile("cpu", **{field: value})


def test_named_baselines_and_limits_are_accepted():
    assert get_profile("cpu", flip_baseline="moore").flip_baseline == "moore"
    assert get_profile("cpu", flip_baseline=-80).flip_baseline == -80
    assert get_profile("cpu", alexnet_train_limit=100).alexnet_train_limit == 100


def test_paper_refuses_the_synthetic_corpus_unless_allowed():
    with pytest.raises(ValueError, match="allow_synthetic"):
        get_profile("paper", corpus="synthetic")
    assert get_profile("paper", corpus="synthetic", allow_synthetic=True).corpus == "synthetic"
    auto = get_profile("paper", corpus="auto")
    with pytest.raises(ValueError, match="AudioMNIST"):
        auto.check_corpus("synthetic")
    auto.check_corpus("audiomnist")
    get_profile("cpu").check_corpus("synthetic")  # only the paper profile refuses


def test_to_dict_is_json_and_round_trips():
    profile = get_profile("smoke")
    as_dict = json.loads(json.dumps(profile.to_dict()))
    assert set(as_dict) == set(field_names())
    assert Profile(**as_dict) == profile


def test_get_profile_accepts_a_profile():
    smoke = get_profile("smoke")
    assert get_profile(smoke, seed=2) == smoke.with_overrides(seed=2)


def test_figure_fractions_start_at_zero_and_are_sorted():
    assert FIGURE3_FRACTIONS[0] == 0.0 and list(FIGURE3_FRACTIONS) == sorted(FIGURE3_FRACTIONS)


def test_every_default_is_what_some_profile_uses():
    """A default that every profile overrides belongs in the profiles, not in the dataclass."""
    for spec in dataclasses.fields(Profile):
        if spec.default is not dataclasses.MISSING:
            users = [p.name for p in PROFILES.values() if getattr(p, spec.name) == spec.default]
            assert users, f"no profile uses the default of {spec.name}"


def test_corpus_sizes_apply_to_their_kind_unless_overridden():
    profile = get_profile("cpu", corpus_sizes={"speechocean762": {"alexnet_epochs": 12, "folds": [0, 1]}})
    real = profile.for_corpus("speechocean762")
    assert (real.alexnet_epochs, real.folds) == (12, (0, 1))
    assert real.for_corpus("speechocean762") == real  # idempotent: every step may call it
    assert profile.for_corpus("synthetic") == profile  # another kind keeps the profile's sizes
    explicit = profile.with_overrides(alexnet_epochs=2)
    assert explicit.for_corpus("speechocean762").alexnet_epochs == 2  # a parameter always wins
    assert explicit.for_corpus("speechocean762").folds == (0, 1)
    assert json.loads(json.dumps(real.to_dict()))["corpus_sizes"]["speechocean762"]["folds"] == [0, 1]


@pytest.mark.parametrize("sizes, message", [
    ({"timit": {}}, "keyed by corpus kinds"),
    ({"speechocean762": {"epochs": 3}}, "sets epochs"),
    ({"speechocean762": {"corpus": "synthetic"}}, "sets corpus"),
    ({"speechocean762": {"alexnet_epochs": 0}}, r"corpus_sizes\['speechocean762'\] is impossible: .*alexnet_epochs"),
])
def test_impossible_corpus_sizes_are_rejected(sizes, message):
    with pytest.raises(ValueError, match=message):
        get_profile("cpu", corpus_sizes=sizes)


@pytest.mark.parametrize("folds", [(), (0, 0), (-1,), (0.5,)])
def test_folds_must_be_distinct_fold_numbers(folds):
    with pytest.raises(ValueError, match="folds must be"):
        get_profile("smoke", folds=folds)


def test_overridden_records_the_overrides_and_cannot_be_set():
    assert get_profile("cpu").overridden == frozenset()
    assert get_profile("cpu", seed=3).with_overrides(fold=1).overridden == {"seed", "fold"}
    with pytest.raises(ValueError, match="overridden"):
        get_profile("cpu", overridden={"seed"})


@pytest.mark.parametrize("value", [0, -60, float("nan"), True, "60"])
def test_highpass_must_be_a_positive_frequency(value):
    with pytest.raises(ValueError, match="highpass_hz must be None or a positive cut-off"):
        get_profile("cpu", highpass_hz=value)


@pytest.mark.parametrize("field, value", [
    ("artifact_repetitions", 0), ("artifact_repetitions", 2.5), ("artifact_fraction", 0.0),
    ("artifact_fraction", 1.5), ("artifact_fraction", "half"), ("artifact_samples", 0),
    ("artifact_epochs", 0), ("artifact_epochs", 2.5),
])
def test_chapter7_sizes_are_validated(field, value):
    with pytest.raises(ValueError, match=field):
        get_profile("smoke", **{field: value})


def test_chapter7_sizes_fit_the_profiles():
    smoke, cpu = get_profile("smoke"), get_profile("cpu")
    assert get_profile("smoke", artifact_samples=None).artifact_samples is None
    for profile in (smoke, cpu):
        assert 0 < profile.artifact_fraction <= 1
    assert smoke.artifact_samples <= cpu.artifact_samples
