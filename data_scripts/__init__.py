"""Command-line tools that fetch, verify or generate corpora (``python -m data_scripts.<name> --help``).

- :mod:`data_scripts.audiomnist` -- AudioMNIST from GitHub or a local clone/folder/zip
- :mod:`data_scripts.fsdd`       -- the Free Spoken Digit Dataset, likewise
- :mod:`data_scripts.synthesize` -- the synthetic AudioMNIST-format corpus (offline default)

The logic they share is in :mod:`data_scripts._fetch`; everything the experiments need at run time
is in :mod:`lrp_utils.data` (which never imports this package).
"""
