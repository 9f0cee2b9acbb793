"""speech-lrp's library: Layer-wise Relevance Propagation for speech classifiers.

The modules read top-down like the paper (Sarvaš, *Interpretation of Deep Neural Networks in
Speech Classification*):

- :mod:`lrp_utils.data`        -- corpora, Becker spectrograms, Kaldi fbanks, splits, caches
- :mod:`lrp_utils.profiles`    -- the one place where experiment sizes live
- :mod:`lrp_utils.models`      -- Becker's AlexNet and the speaker-ID ResNet
- :mod:`lrp_utils.training`    -- resumable, deterministic training
- :mod:`lrp_utils.lrp`         -- rules, composites, canonizers and :func:`explain`
- :mod:`lrp_utils.evaluation`  -- pixel flipping, relevance-guided augmentation, Table 1
- :mod:`lrp_utils.plotting`    -- heatmaps and curves
"""

__version__ = "0.1.0"
