"""harness: a benchmark harness for conditional GAN variants on EuroSAT RGB.

Data flows one way, and the folders are its stages; a module imports only from its own stage, an earlier one,
or the top-level building blocks every stage uses (config, errors, atomicio, cachefile, paths, fetch, streams,
phases, images, rows):

    data -> models -> train -> evaluate -> runs -> report -> cli

The public paths for plugins (harness.registry, harness.metrics, harness.objectives, harness.config) sit on top
and are never imported from inside the package. Importing this package does not import TensorFlow; the modules
that need it do. It does turn TensorFlow's oneDNN kernels on for the process (below), which must happen before
TensorFlow is imported.
"""

import os as _os
import sys as _sys

__version__ = "0.5.0"


def _onednn_by_default() -> None:
    """TF_ENABLE_ONEDNN_OPTS=1 unless the user set it or TensorFlow is already imported (then it is too late, and
    a run records what TensorFlow actually does: harness.train.devices.machine). TensorFlow turns its oneDNN
    kernels on by itself only on CPUs with AVX-512 VNNI or BF16 or AMX; on an AVX2-only CPU it runs Eigen's, which
    took the paper's full-width float32 step at half the rate (14.9 against 30.8 img/s on a 2-core AMD EPYC,
    family 25, model 1; docs/performance.md) and sum in other orders than the oneDNN kernels other CPUs run."""
    if "tensorflow" not in _sys.modules:
        _os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")


_onednn_by_default()
