"""speech-lrp's library: Layer-wise Relevance Propagation for speech classifiers.

The modules read top-down like the paper (Sarvaš, *Interpretation of Deep Neural Networks in
Speech Classification*):

- :mod:`lrp_utils.data`        -- corpora, Becker spectrograms, Kaldi fbanks, splits, caches
- :mod:`lrp_utils.profiles`    -- the one place where experiment sizes live
- :mod:`lrp_utils.layers`      -- building blocks shared by models and explainer (the residual ``Add``)
- :mod:`lrp_utils.modes`       -- evaluation mode that restores every module's flag
- :mod:`lrp_utils.models`      -- Becker's AlexNet and the speaker-ID ResNet
- :mod:`lrp_utils.training`    -- resumable, deterministic training
- :mod:`lrp_utils.lrp`         -- rules, composites, :class:`~lrp_utils.lrp.Explainer` and :func:`~lrp_utils.lrp.explain`
- :mod:`lrp_utils.evaluation`  -- pixel flipping, relevance-guided augmentation, Table 1
- :mod:`lrp_utils.plotting`    -- heatmaps and curves
- :mod:`lrp_utils.report`      -- what each executed notebook states about its run
"""

__version__ = "0.1.0"
