#!/usr/bin/env bash
# Developer check, one call on a machine with an NVIDIA GPU and PyPI (under 8 minutes on a current GPU, most of it
# the install): installs .[gpu,dev], runs the tests that do not need 2 logical CPUs (the Inception features against
# the golden file among them, now on the GPU), then tools/gpu_check.py: images/s of the paper profile in float32,
# mixed_float16 and mixed_bfloat16, and op determinism (two runs, the same losses).
#   HARNESS_EUROSAT=/path/to/EuroSAT.zip bash tools/gpu_check.sh [OUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
: "${HARNESS_EUROSAT:?set HARNESS_EUROSAT to the EuroSAT archive}"
out="${1:-${TMPDIR:-/tmp}/harness-gpu-check}"
mkdir -p "$out"
python3 -m venv .venv-gpu
. .venv-gpu/bin/activate
python -m pip install --quiet --upgrade pip
python -m pip install --quiet -e '.[gpu,dev]'
export TF_CPP_MIN_LOG_LEVEL=2 HARNESS_REQUIRE_EUROSAT=1
python -c "import tensorflow as tf; g = tf.config.list_physical_devices('GPU'); assert g, 'TensorFlow sees no GPU'; print(g)"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$out/gpu.txt"
# The subset: Inception's golden features, the step's precision and determinism tests, objectives, the variants'
# contract, the runner (resume exactness); not the two-logical-CPU comparison, which configures CPUs only.
pytest -q -p no:cacheprovider tests/test_inception.py tests/test_devices.py tests/test_objectives.py \
    tests/test_variants.py tests/test_runner.py -k "not two_devices" 2>&1 | tee "$out/pytest.txt"
python tools/gpu_check.py --out "$out/runs" 2>&1 | tee "$out/gpu-check.txt"
