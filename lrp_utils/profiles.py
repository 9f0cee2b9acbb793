"""Experiment profiles: the one place where experiment sizes live.

A :class:`Profile` is a frozen record of every size an experiment needs -- corpus, split, epochs,
batch sizes, learning rates, seeds, pixel-flipping fractions, augmentation fraction, ResNet width
and frames -- so that a notebook run is reproducible from its parameters alone.  Three are
defined (:data:`PROFILES`):

``smoke``
    A small synthetic corpus and a few training steps, sized for CI, nbval and quick checks
    (budget: the whole book within 10 minutes on 2 CPU cores, both models above chance).
``cpu`` (the default)
    Real voices wherever they are available: AudioMNIST when present, else speechocean762 (under
    ``data/`` or the shared copy beside the repository), else the full-size synthetic corpus (60
    speakers x 10 digits x 50 repetitions): a laptop reproduction (budget: the whole book within 60 minutes on 2 CPU
    cores).
``paper``
    The paper's settings (Sarvaš, section 4: AudioMNIST, Becker's 6000/3000 split, 200 epochs,
    Adam lr 1e-4) for one GPU.  Refuses the synthetic corpus unless ``allow_synthetic=True``.

Any field can be overridden by name -- ``get_profile("cpu", alexnet_epochs=5)`` or
``profile.with_overrides(seed=1)`` -- which is what papermill parameters do.  An unknown profile
or field, or an impossible size (epochs < 1, a fraction outside [0, 1], ...), raises a
:class:`ValueError` that names the culprit and lists what is valid.
"""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass
from typing import Any, Mapping

from lrp_utils.data.resolve import CORPUS_KINDS, CORPUS_NAMES
from lrp_utils.models.alexnet import ALEXNET_INITS

#: Named pixel-flipping baselines understood besides a number.
FLIP_BASELINES = ("min", "moore")  # = lrp_utils.evaluation.BASELINES


#: The paper's Figure 3: 0 to 10 % of the bins flipped.
FIGURE3_FRACTIONS = (0.0, 0.001, 0.0025, 0.005, 0.0075, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1)
#: The paper's Figure 4: a zoom on 0 to 1 %.
FIGURE4_FRACTIONS = (0.0, 0.001, 0.002, 0.003, 0.004, 0.005, 0.006, 0.007, 0.008, 0.009, 0.01)
#: Chapter 6's MoRF / LeRF curves: far enough (half of the bins) for least-relevant-first to fall.
FAITHFULNESS_FRACTIONS = (0.0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5)


@dataclass(frozen=True)
class Profile:
    """Every size of one experiment configuration (see the module docstring).

    The fields without a default are those each profile must state (its corpus, seeds and the
    training sizes of both models); the others default to the paper's or the usual choice.

    Attributes
    ----------
    name: profile name; also the folder ``artifacts/<name>/`` holding its products.
    description: one line on what the profile is for.
    corpus: ``auto`` (``data_dir`` if set; else AudioMNIST if present, else speechocean762, else
        synthetic), ``audiomnist``, ``speechocean762``, ``synthetic``, ``fsdd`` (speaker ID only:
        FSDD has no female speakers), or the path of any corpus folder or manifest CSV
        (:func:`lrp_utils.data.load_corpus`).
    synthetic_repetitions: repetitions per speaker and digit of the synthetic corpus
        (AudioMNIST has 50).
    seeds: the seeds of repeated runs (Table 1: mean ± std over them).
    alexnet_epochs, alexnet_batch_size, alexnet_lr: AlexNet gender training (paper: 200 epochs,
        lr 1e-4; Becker: batch 100).
    finetune_epochs, finetune_lr: fine-tuning in the relevance-guided augmentation (section 4.3).
    resnet_width: channels of the speaker ResNet's first stage (widths w, 2w, 4w, 8w).
    resnet_frames: fbank frames (10 ms each) per speaker-ID input.
    resnet_epochs, resnet_batch_size, resnet_lr: speaker ResNet training.
    data_dir: where the corpus lives or is generated (``None``: the data layer's default); with
        ``corpus='auto'`` any corpus folder or manifest CSV, e.g. ``-p data_dir my_corpus.csv``.
    fold: the gender fold of the main model (Becker's on AudioMNIST: 12 train / 6 validation /
        6 test speakers; :func:`lrp_utils.data.gender_folds` on other corpora).
    folds: the gender folds whose test accuracy chapter 2 reports as mean ± std (one AlexNet each).
    seed: the seed of the main run (data offsets, initialisation, shuffling, dropout).
    alexnet_train_limit: use only this many training spectrograms (``None``: all 6000).
    alexnet_eval_limit: use only this many validation and this many test spectrograms (``None``:
        all; seeded random subsets, like the training limit); validation runs after every epoch.
    alexnet_init: ``caffe`` (Becker's) or ``torch`` weight initialisation (see
        :class:`lrp_utils.models.AlexNet`).
    highpass_hz: high-pass cut-off (Hz) applied to every recording before its features
        (``None``: none, as in the paper); removes DC offset, mains hum and rumble, the recording
        channel's cues (:func:`lrp_utils.data.features.highpass`).
    resnet_limit_per_split: at most this many utterances per speaker-ID split, drawn evenly over
        the speakers (``None``: all; the split is 80/10/10 % of the repetitions).
    resnet_train_windows: consecutive ``resnet_frames`` windows cut from the centre of each
        training recording (``1``: one centred crop); more examples per speaker for corpora with
        few, long recordings (:func:`lrp_utils.data.datasets.split_windows`).
    flip_fractions: fractions of bins flipped in pixel flipping (Figure 3: 0 to 10 %).
    flip_fractions_zoom: the zoom of Figure 4 (0 to 1 %).
    flip_baseline: value a flipped bin is set to: a number in dB (the paper's literal 0, i.e. the
        loudest value of a Becker spectrogram) or ``min`` / ``moore`` (Moore-neighbourhood mean).
    augment_fraction: fraction of bins replaced by their neighbourhood mean in the augmentation
        (the paper: 0.5 %).
    explain_batch_size: batch size for relevance computations.
    evaluation_samples: how many test items (evenly spaced, every speaker represented) the
        notebooks explain and flip (``None``: all); a forward pass per item, fraction and curve
        adds up on a CPU.
    faithfulness_samples: how many test items (evenly spaced) chapter 6 explains with every
        attribution method and flips most- and least-relevant-first (``None``: all); occlusion
        costs a forward pass per window and item.
    faithfulness_fractions: fractions of bins flipped in chapter 6's MoRF / LeRF curves.
    integrated_gradients_steps: Riemann steps of Integrated Gradients (Sundararajan et al. 2017).
    smoothgrad_samples, smoothgrad_noise: noisy copies SmoothGrad averages over and their noise
        standard deviation as a fraction of each input's value range (Smilkov et al. 2017: 10-20 %).
    occlusion_window: side (bins) of the square patch occlusion sets to the baseline, moved by
        its own size (Zeiler & Fergus 2014).
    artifact_repetitions: repetitions of the synthetic corpus chapter 7 plants its cue in (and
        trains its clean and planted AlexNets on, with the profile's AlexNet sizes), whatever
        corpus the profile names otherwise (:func:`lrp_utils.data.planted.synthetic_profile`).
    artifact_fraction: fraction of the recordings of the fold's female training speakers that
        carry the planted tone (:func:`lrp_utils.data.planted.profile_artifact`).
    artifact_samples: how many test items (evenly spaced, both genders) chapter 7 plants the tone
        into and explains with every attribution method (``None``: all).
    artifact_epochs: epochs of chapter 7's two AlexNets (``None``: ``alexnet_epochs``); on its
        smaller corpus the profile's own epochs may be too few Adam steps to leave the initial
        plateau.
    device: ``auto`` (CUDA, then MPS, then CPU), ``cpu``, ``cuda``, ``cuda:N`` or ``mps``.
    mixed_precision: automatic mixed precision (float16 + GradScaler) on CUDA.
    num_threads: torch CPU threads (``None``: leave torch's default).
    allow_synthetic: let the ``paper`` profile run on the synthetic corpus.
    corpus_sizes: sizes that replace the profile's own on a corpus of that kind, e.g.
        ``{"speechocean762": {"alexnet_epochs": 12}}`` (:meth:`for_corpus`): ``auto`` picks the
        corpus at run time, and 1120 training recordings want more epochs than 6000.
    overridden: the fields set by overrides (kept by :meth:`for_corpus`); set automatically.
    """

    name: str
    description: str
    corpus: str
    synthetic_repetitions: int
    seeds: tuple[int, ...]
    alexnet_epochs: int
    alexnet_batch_size: int
    alexnet_lr: float
    finetune_epochs: int
    finetune_lr: float
    resnet_width: int
    resnet_frames: int
    resnet_epochs: int
    resnet_batch_size: int
    resnet_lr: float
    data_dir: str | None = None
    fold: int = 0
    folds: tuple[int, ...] = (0,)
    seed: int = 0
    alexnet_train_limit: int | None = None
    alexnet_eval_limit: int | None = None
    alexnet_init: str = "caffe"
    highpass_hz: float | None = None
    resnet_limit_per_split: int | None = None
    resnet_train_windows: int = 1
    flip_fractions: tuple[float, ...] = FIGURE3_FRACTIONS
    flip_fractions_zoom: tuple[float, ...] = FIGURE4_FRACTIONS
    flip_baseline: float | str = 0.0
    augment_fraction: float = 0.005
    explain_batch_size: int = 32
    evaluation_samples: int | None = None
    faithfulness_samples: int | None = None
    faithfulness_fractions: tuple[float, ...] = FAITHFULNESS_FRACTIONS
    integrated_gradients_steps: int = 32
    smoothgrad_samples: int = 16
    smoothgrad_noise: float = 0.1
    occlusion_window: int = 16
    # chapter 7 (a planted cue)
    artifact_repetitions: int = 10
    artifact_fraction: float = 0.5
    artifact_samples: int | None = 64
    artifact_epochs: int | None = None
    device: str = "auto"
    mixed_precision: bool = False
    num_threads: int | None = None
    allow_synthetic: bool = False
    corpus_sizes: Mapping[str, Mapping[str, Any]] = dataclasses.field(default_factory=dict)
    overridden: frozenset[str] = dataclasses.field(default=frozenset(), compare=False)

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):  # papermill hands lists where we store tuples
            value = getattr(self, f.name)
            if isinstance(value, list):
                object.__setattr__(self, f.name, tuple(value))
        object.__setattr__(self, "overridden", frozenset(self.overridden))
        _validate(self)

    def with_overrides(self, **overrides: Any) -> "Profile":
        """A copy with the named fields replaced (validated); an unknown field is a ValueError."""
        unknown = sorted(set(overrides) - set(field_names()))
        if unknown:
            raise ValueError(f"unknown profile field(s) {', '.join(map(repr, unknown))}; valid "
                             f"fields: {', '.join(field_names())}")
        if "overridden" in overrides:
            raise ValueError("'overridden' records the fields set by overrides; it cannot be set itself")
        return dataclasses.replace(self, **overrides, overridden=self.overridden | frozenset(overrides))

    def for_corpus(self, kind: str) -> "Profile":
        """The profile's sizes for a corpus of ``kind``: :attr:`corpus_sizes` ``[kind]`` replaces
        the profile's own values, except those set by an override (an explicit papermill parameter
        always wins). Idempotent, so every step that resolves the corpus may call it."""
        sizes = {name: value for name, value in self.corpus_sizes.get(kind, {}).items()
                 if name not in self.overridden and getattr(self, name) != value}
        return dataclasses.replace(self, **sizes) if sizes else self

    def to_dict(self) -> dict[str, Any]:
        """The profile as a JSON-serialisable dict (tuples become lists)."""
        return {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self)}

    def check_corpus(self, resolved_kind: str) -> None:
        """Refuse a synthetic corpus for the ``paper`` profile unless ``allow_synthetic``.

        ``resolved_kind`` is what ``corpus`` turned out to be (``auto`` resolves at run time).
        """
        if self.name == "paper" and resolved_kind == "synthetic" and not self.allow_synthetic:
            raise ValueError(
                "profile 'paper' reproduces the paper's numbers and needs the real AudioMNIST "
                "corpus, but the corpus resolved to 'synthetic'; fetch AudioMNIST with "
                "data_scripts (or set data_dir to a copy), or pass allow_synthetic=True to run "
                "the paper's sizes on the synthetic corpus anyway")


def _plain(value: Any) -> Any:
    """``value`` with tuples and sets as lists and mappings as dicts (for JSON)."""
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    return value


def field_names() -> tuple[str, ...]:
    """Names of all :class:`Profile` fields, in declaration order."""
    return tuple(f.name for f in dataclasses.fields(Profile))


def _fail(profile: Profile, name: str, requirement: str) -> None:
    raise ValueError(f"profile {profile.name!r}: {name} must be {requirement}, got "
                     f"{getattr(profile, name)!r}; override it with a valid value")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _validate(p: Profile) -> None:
    """Raise a ValueError naming the first impossible field of ``p``."""
    if not isinstance(p.name, str) or not p.name or "/" in p.name:
        _fail(p, "name", "a non-empty string without '/' (it names a folder)")
    if not isinstance(p.corpus, str) or not p.corpus:
        _fail(p, "corpus", f"one of {', '.join(CORPUS_NAMES)} or the path of a corpus folder or manifest CSV")
    if p.corpus not in CORPUS_NAMES:
        if not os.path.exists(p.corpus):
            _fail(p, "corpus", f"one of {', '.join(CORPUS_NAMES)} or the path of an existing corpus folder "
                               "or manifest CSV")
        object.__setattr__(p, "corpus", os.path.abspath(p.corpus))
    if p.name == "paper" and p.corpus == "synthetic" and not p.allow_synthetic:
        p.check_corpus("synthetic")
    positive_ints = ("synthetic_repetitions", "alexnet_epochs", "alexnet_batch_size",
                     "finetune_epochs", "resnet_width", "resnet_frames", "resnet_epochs",
                     "resnet_batch_size", "resnet_train_windows", "explain_batch_size",
                     "integrated_gradients_steps", "smoothgrad_samples", "occlusion_window",
                     "artifact_repetitions")
    for name in positive_ints:
        if not _is_int(getattr(p, name)) or getattr(p, name) < 1:
            _fail(p, name, "a positive integer")
    for name in ("fold", "seed"):
        if not _is_int(getattr(p, name)) or getattr(p, name) < 0:
            _fail(p, name, "a non-negative integer")
    if not isinstance(p.folds, tuple) or not p.folds or not all(_is_int(f) and f >= 0 for f in p.folds) \
            or len(set(p.folds)) != len(p.folds):
        _fail(p, "folds", "a non-empty list of distinct non-negative integers (gender fold numbers)")
    if not isinstance(p.seeds, tuple) or not p.seeds or not all(_is_int(s) and s >= 0 for s in p.seeds):
        _fail(p, "seeds", "a non-empty list of non-negative integers")
    for name in ("alexnet_train_limit", "alexnet_eval_limit", "resnet_limit_per_split", "evaluation_samples",
                 "faithfulness_samples", "artifact_samples", "artifact_epochs", "num_threads"):
        value = getattr(p, name)
        if value is not None and (not _is_int(value) or value < 1):
            _fail(p, name, "None or a positive integer")
    for name in ("alexnet_lr", "finetune_lr", "resnet_lr", "smoothgrad_noise"):
        value = getattr(p, name)
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not (
                math.isfinite(value) and value > 0):
            _fail(p, name, "a positive finite number")
    if p.highpass_hz is not None and (isinstance(p.highpass_hz, bool) or not isinstance(p.highpass_hz, (int, float))
                                      or not math.isfinite(p.highpass_hz) or p.highpass_hz <= 0):
        _fail(p, "highpass_hz", "None or a positive cut-off frequency in Hz (e.g. 60)")
    if p.alexnet_init not in ALEXNET_INITS:
        _fail(p, "alexnet_init", f"one of {', '.join(ALEXNET_INITS)}")
    for name in ("flip_fractions", "flip_fractions_zoom", "faithfulness_fractions"):
        values = getattr(p, name)
        if not isinstance(values, tuple) or not values or not all(_is_fraction(v) for v in values):
            _fail(p, name, "a non-empty list of fractions in [0, 1] (0.01 = 1 % of the bins)")
    if not _is_fraction(p.augment_fraction):
        _fail(p, "augment_fraction", "a fraction in [0, 1] (the paper: 0.005 = 0.5 %)")
    if not _is_fraction(p.artifact_fraction) or p.artifact_fraction == 0:
        _fail(p, "artifact_fraction", "a fraction in (0, 1] of the female training recordings (0.5 = half)")
    if isinstance(p.flip_baseline, str):
        if p.flip_baseline not in FLIP_BASELINES:
            _fail(p, "flip_baseline", f"a number (dB) or one of {', '.join(FLIP_BASELINES)}")
    elif isinstance(p.flip_baseline, bool) or not isinstance(p.flip_baseline, (int, float)) \
            or not math.isfinite(p.flip_baseline):
        _fail(p, "flip_baseline", f"a finite number (dB) or one of {', '.join(FLIP_BASELINES)}")
    if not isinstance(p.device, str) or not (
            p.device in ("auto", "cpu", "cuda", "mps") or p.device.startswith("cuda:")):
        _fail(p, "device", "one of auto, cpu, cuda, cuda:N, mps")
    for name in ("mixed_precision", "allow_synthetic"):
        if not isinstance(getattr(p, name), bool):
            _fail(p, name, "True or False")
    _validate_corpus_sizes(p)
    if p.data_dir is not None:  # absolute: a notebook's kernel may run in another folder
        object.__setattr__(p, "data_dir", os.path.abspath(str(p.data_dir)))


def _validate_corpus_sizes(p: Profile) -> None:
    """Each entry of ``corpus_sizes`` names a corpus kind and gives valid values of known fields."""
    if not isinstance(p.corpus_sizes, Mapping):
        _fail(p, "corpus_sizes", "a mapping {corpus kind: {field: value}}")
    for kind, sizes in p.corpus_sizes.items():
        if kind not in CORPUS_KINDS:
            _fail(p, "corpus_sizes", f"keyed by corpus kinds ({', '.join(CORPUS_KINDS)}); {kind!r} is none")
        unknown = sorted(set(sizes) - set(field_names()) | set(sizes) & {"name", "corpus", "corpus_sizes", "overridden"})
        if unknown:
            _fail(p, "corpus_sizes", f"a mapping of size fields; {kind!r} sets {', '.join(unknown)}")
        try:
            dataclasses.replace(p, **sizes, corpus_sizes={})
        except ValueError as error:
            raise ValueError(f"profile {p.name!r}: corpus_sizes[{kind!r}] is impossible: {error}") from None


def _is_fraction(value: Any) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value) and 0.0 <= value <= 1.0)


#: The three profiles; sizes justified in the comments below and in the README ("Why these
#: sizes", measured on 2 CPU cores).
PROFILES: dict[str, Profile] = {
    "smoke": Profile(
        name="smoke",
        description="small synthetic corpus, a few training steps: CI, nbval, quick checks "
                    "(whole book < 10 min on 2 CPU cores)",
        corpus="synthetic",
        # 10 repetitions: the fewest that leave a speaker-ID validation and test repetition
        # (80/10/10 % split by repetition index).
        synthetic_repetitions=10,
        seeds=(0, 1),
        # AlexNet needs 60-110 Adam steps at lr 1e-4 before its loss moves, whatever the learning
        # rate (3e-4 and 1e-3 did not shorten it) and initialisation: 300 spectrograms in batches
        # of 16 for 8 epochs give 152 steps (seeds 0 and 1 left the plateau in epochs 5 to 7),
        # for half the cost of every fine-tuning and every augmented training set that 600 cost;
        # 160 validation spectrograms after each epoch and 160 test spectrograms.
        alexnet_epochs=8,
        alexnet_batch_size=16,
        alexnet_lr=1e-4,
        alexnet_train_limit=300,
        alexnet_eval_limit=160,
        finetune_epochs=1,
        finetune_lr=1e-5,
        resnet_width=8,
        resnet_frames=48,
        # All 4800 training utterances (8 repetitions x 600) for 2 epochs: about 30 s on 2 idle
        # cores; a quarter of them left the network near chance (README, "Why these sizes").
        # Validation after epochs 1-3: 9 %, 20 %, 28 % (chance 1.7 %); the third epoch's 20 s
        # went to the book's 10-minute budget.
        resnet_epochs=2,
        resnet_batch_size=32,
        resnet_lr=1e-3,
        resnet_limit_per_split=None,
        flip_fractions=(0.0, 0.005, 0.01, 0.05, 0.1),
        flip_fractions_zoom=(0.0, 0.0025, 0.005, 0.0075, 0.01),
        explain_batch_size=16,
        # 48 of the 160 test spectrograms (about 24 per gender and 8 per test speaker) explained
        # and flipped
        evaluation_samples=48,
        faithfulness_samples=16,
        faithfulness_fractions=(0.0, 0.05, 0.2, 0.5),
        integrated_gradients_steps=8,
        smoothgrad_samples=4,
        occlusion_window=32,
        # chapter 7 on the same corpus with the same epochs: its clean AlexNet is chapter 2's; 16
        # test spectrograms x 11 explanations x 2 networks
        artifact_samples=16,
    ),
    "cpu": Profile(
        name="cpu",
        description="real speech where present (AudioMNIST, else speechocean762), else the "
                    "full-size synthetic corpus: a laptop reproduction (whole book < 60 min on "
                    "2 CPU cores)",
        corpus="auto",
        synthetic_repetitions=50,
        # Table 1 trains one AlexNet per seed (about 3 min each on speechocean762, 6 min on
        # AudioMNIST's 6000 spectrograms, 2 idle cores): three seeds, the fewest whose spread
        # says something, within the 60-minute budget of the whole book.
        seeds=(0, 1, 2),
        # Becker's fold: 6000 training / 3000 validation spectrograms; AlexNet trains at about
        # 60-70 spectrograms/s on 2 idle cores, so an epoch is about 100-120 s with validation;
        # three epochs at the paper's lr 1e-4 suffice there (README, "Why these sizes").
        alexnet_epochs=3,
        alexnet_batch_size=32,
        alexnet_lr=1e-4,
        finetune_epochs=1,
        finetune_lr=1e-5,
        # Width 8 trains at about 300 fbanks/s on 2 idle cores; 24000 training utterances
        # (40 repetitions x 600) make an epoch of about 80 s with validation (accuracy per epoch:
        # README, "Why these sizes").
        resnet_width=8,
        resnet_frames=64,
        resnet_epochs=6,
        resnet_batch_size=64,
        resnet_lr=1e-3,
        # 200 of the 3000 test spectrograms: the flipping chapter's curves take a few minutes
        evaluation_samples=200,
        # 48 test spectrograms x 9 attribution methods x MoRF/LeRF x 3 baselines (chapter 6);
        # occlusion's 15 x 15 windows of 16 bins cost 225 forward passes per spectrogram
        faithfulness_samples=48,
        # chapter 7: 1200 training spectrograms of the synthetic corpus (10 repetitions); 3 epochs
        # of 32 are 113 Adam steps, about where the AlexNet leaves its initial plateau, 5 are 188
        # (about 90 s each on 2 idle cores); 24 test spectrograms x 11 explanations x 2 networks
        # (occlusion: 225 forward passes each)
        artifact_epochs=5,
        artifact_samples=24,
        # speechocean762 (a fold: 1120 training / 560 validation / 560 test recordings of 56 / 28 /
        # 28 speakers) needs more epochs than AudioMNIST's 6000 spectrograms: 8 epochs of about
        # 20 s; its four folds each test other speakers. Speaker ID has 16 training sentences per
        # speaker: three 1-s windows of each make 3x the examples (README, "Why these sizes").
        corpus_sizes={"speechocean762": {"alexnet_epochs": 8, "folds": (0, 1, 2, 3),
                                         "resnet_frames": 100, "resnet_train_windows": 3,
                                         "resnet_epochs": 20}},
    ),
    "paper": Profile(
        name="paper",
        description="the paper's settings (AudioMNIST, Becker's 6000/3000 split, 200 epochs, "
                    "Adam lr 1e-4) for one GPU",
        corpus="audiomnist",
        synthetic_repetitions=50,
        seeds=(0, 1, 2, 3, 4),
        alexnet_epochs=200,
        alexnet_batch_size=100,
        alexnet_lr=1e-4,
        finetune_epochs=10,
        finetune_lr=1e-5,
        resnet_width=32,
        resnet_frames=100,
        resnet_epochs=30,
        resnet_batch_size=128,
        resnet_lr=1e-3,
        explain_batch_size=100,
        mixed_precision=False,
        artifact_repetitions=50,
    ),
}

#: The profile used when none is named.
DEFAULT_PROFILE = "cpu"


def get_profile(name: str = DEFAULT_PROFILE, **overrides: Any) -> Profile:
    """The profile called ``name`` with ``overrides`` applied (e.g. papermill parameters).

    Raises a ValueError listing the valid profiles for an unknown ``name`` and the valid fields
    for an unknown override.
    """
    if isinstance(name, Profile):
        return name.with_overrides(**overrides)
    if name not in PROFILES:
        raise ValueError(f"unknown profile {name!r}; valid profiles: {', '.join(PROFILES)}")
    return PROFILES[name].with_overrides(**overrides)
