"""Moving LRP's input reference point (evaluation.input_reference) and the per-row levels of the
data (evaluation.row_levels), on hand-computed cases."""

import numpy as np
import pytest
import torch
from torch import nn

from lrp_utils.data import FeatureDataset
from lrp_utils.evaluation.input_reference import input_layer, referenced_to
from lrp_utils.evaluation.row_levels import recording_row_levels, row_levels
from lrp_utils.lrp import Composite, Epsilon, Zero, explain


def small_net() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 3, 3, stride=2), nn.ReLU(), nn.Flatten(), nn.Linear(3 * 3 * 3, 2)).double()


def test_the_copy_computes_the_same_function_of_the_shifted_input():
    model = small_net()
    x = -80.0 * torch.rand(5, 1, 7, 7, dtype=torch.float64)
    shifted = referenced_to(model, -80.0, probe=x)
    assert torch.allclose(shifted(x + 80.0), model(x))
    assert torch.equal(model[0].bias, small_net()[0].bias)  # the model itself is untouched
    relevance = explain(shifted, x + 80.0, torch.zeros(5, dtype=torch.long), Composite.uniform(Epsilon(0.5)))
    assert relevance.shape == x.shape


def test_lrp0_of_a_linear_model_measures_each_bin_from_the_reference():
    # f_0(x) = w . x + b with w = (1, -2, 3, 0.5), b = 4. LRP-0 explains the logit f_0 = z (bias
    # included), so R_i = x_i w_i f_0 / z = x_i w_i measured from 0, and (x_i - c) w_i from c.
    model = nn.Sequential(nn.Flatten(), nn.Linear(4, 2)).double()
    with torch.no_grad():
        model[1].weight.copy_(torch.tensor([[1.0, -2.0, 3.0, 0.5], [0.0, 0.0, 0.0, 1.0]]))
        model[1].bias.copy_(torch.tensor([4.0, 0.0]))
    x = torch.tensor([[[[-10.0, -80.0], [0.0, -40.0]]]], dtype=torch.float64)
    target, rule = torch.tensor([0]), Composite.uniform(Zero())
    from_zero = explain(model, x, target, rule).flatten()
    assert from_zero.tolist() == pytest.approx([-10.0, 160.0, 0.0, -20.0])  # the quietest bin leads
    from_silence = explain(referenced_to(model, -80.0), x + 80.0, target, rule).flatten()
    assert from_silence.tolist() == pytest.approx([70.0, 0.0, 240.0, 20.0])  # the silent bin has none


def test_impossible_shifts_are_refused():
    padded = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.Flatten(), nn.Linear(2 * 16, 2))
    with pytest.raises(ValueError, match="pads its input"):
        referenced_to(padded, -80.0)

    class Reversed(nn.Module):  # registers the head first: the first layer is not the input's
        def __init__(self):
            super().__init__()
            self.head = nn.Linear(3, 2)
            self.body = nn.Linear(4, 3)

        def forward(self, x):
            return self.head(torch.relu(self.body(x)))

    assert input_layer(Reversed())[0] == "head"
    with pytest.raises(ValueError, match="disagrees"):
        referenced_to(Reversed(), -80.0, probe=-80.0 * torch.rand(3, 4))
    with pytest.raises(ValueError, match="no Conv or Linear"):
        referenced_to(nn.ReLU(), -80.0)


def test_a_layer_without_bias_gets_one():
    model = nn.Sequential(nn.Flatten(), nn.Linear(4, 2, bias=False))
    x = -80.0 * torch.rand(3, 1, 2, 2)
    assert torch.allclose(referenced_to(model, -80.0, probe=x)(x + 80.0), model(x), atol=1e-4)


# Four 3x4 spectrograms (floor -80): A and B male, C and D female; columns beyond each recording's
# frames are padding at the floor. Levels over the frames, by hand:
#   A (frames 0-2): rows -10, -50, -30    B (frames 0-3): -20, -40, -30
#   C (frames 0-1): rows -30, -20, -30    D (frames 0-2): -40, -10, -30
def spectrogram(levels, frames):
    x = np.full((3, 4), -80.0)
    x[:, :frames] = np.asarray(levels, dtype=float)[:, None]
    return x


FEATURES = np.stack([spectrogram((-10, -50, -30), 3), spectrogram((-20, -40, -30), 4),
                     spectrogram((-30, -20, -30), 2), spectrogram((-40, -10, -30), 3)]).astype(np.float32)


def test_row_levels_by_hand():
    assert np.allclose(recording_row_levels(FEATURES[:, None]), [[-10, -50, -30], [-20, -40, -30],
                                                                  [-30, -20, -30], [-40, -10, -30]])
    table = row_levels(FeatureDataset(FEATURES, [0, 0, 1, 1]), np.array([0.0, 100.0, 200.0]))
    assert list(table.columns) == ["male (dB)", "female (dB)", "AUC female > male"]
    assert table.index.name == "frequency (Hz)"
    assert table["male (dB)"].tolist() == [-15.0, -45.0, -30.0]
    assert table["female (dB)"].tolist() == [-35.0, -15.0, -30.0]
    assert table["AUC female > male"].tolist() == [0.0, 1.0, 0.5]
    subset = torch.utils.data.Subset(FeatureDataset(FEATURES, [0, 0, 1, 1]), [0, 3])
    assert row_levels(subset, np.array([0.0, 100.0, 200.0]))["AUC female > male"].tolist() == [0.0, 1.0, 0.5]


def test_row_levels_refuse_bad_input():
    dataset = FeatureDataset(FEATURES, [0, 0, 0, 0])
    with pytest.raises(ValueError, match="both classes"):
        row_levels(dataset, np.arange(3.0))
    with pytest.raises(ValueError, match="one per row"):
        row_levels(FeatureDataset(FEATURES, [0, 0, 1, 1]), np.arange(4.0))
    with pytest.raises(ValueError, match="exactly two"):
        row_levels(dataset, np.arange(3.0), names={0: "a", 1: "b", 2: "c"})
    with pytest.raises(ValueError, match="shape"):
        recording_row_levels(FEATURES[0])
