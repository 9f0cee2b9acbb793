"""The paper's two models: Becker's spectrogram AlexNet (gender) and a ResNet34-style speaker net.

- :class:`AlexNet` -- Becker et al. (2018)'s Caffe AlexNet, 1x227x227 dB spectrogram input.
- :class:`SpeakerResNet` -- ResNet34 layout over 1x64xT Kaldi fbanks.
- :func:`build_model` -- either one from an architecture name and keyword arguments, the way a
  checkpoint records it.
"""

from lrp_utils.models.alexnet import ALEXNET_INITS, ALEXNET_INPUT_SHAPE, AlexNet
from lrp_utils.models.factory import ARCHITECTURES, build_model, count_parameters
from lrp_utils.models.resnet import FBANK_BINS, RESNET34_LAYERS, Add, BasicBlock, SpeakerResNet

__all__ = [
    "ALEXNET_INITS", "ALEXNET_INPUT_SHAPE", "ARCHITECTURES", "Add", "AlexNet", "BasicBlock",
    "FBANK_BINS", "RESNET34_LAYERS", "SpeakerResNet", "build_model", "count_parameters",
]
