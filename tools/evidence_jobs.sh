#!/usr/bin/env bash
# Dev tool: start (or resume) the long-running evidence job in the background, from a frozen copy of the code at
# COMMIT (every sitting of the run records that commit): the paper protocol's run (paper_dcgan, profile paper,
# seed 0, to 100 epochs) on every core of the machine. (The long study, which this script also trained, is
# complete: docs/evidence/long has five seeds of each variant.)
# Usage: tools/evidence_jobs.sh COMMIT [EVIDENCE_DIR=/work/evidence]; log in EVIDENCE_DIR/paper.log. A second run
# of the protocol (the rerun on another machine) takes its own EVIDENCE_DIR, and tools/evidence_sync.sh its own
# destination.
# The run resumes from its last checkpoint in EVIDENCE_DIR/paper/runs; without one it starts from epoch 0
# (checkpoints are not committed). Stop it with SIGTERM (a job started in the background ignores SIGINT); it
# resumes from its last finished epoch. Copy it into docs/evidence with tools/evidence_sync.sh.
set -euo pipefail
COMMIT=${1:?usage: tools/evidence_jobs.sh COMMIT [EVIDENCE_DIR]}
EVIDENCE=${2:-/work/evidence}
REPO=$(cd "$(dirname "$0")/.." && pwd)
FROZEN="$EVIDENCE/frozen-$COMMIT"
[ -d "$FROZEN" ] || git -C "$REPO" worktree add --detach "$FROZEN" "$COMMIT"
PY="$REPO/.venv/bin/python"
mkdir -p "$EVIDENCE"
cd "$EVIDENCE"
export PYTHONPATH="$FROZEN" TF_CPP_MIN_LOG_LEVEL=2 PYTHONUNBUFFERED=1
# oneDNN's kernels on every CPU: TensorFlow turns them on by itself only where the CPU has AVX-512 (VNNI, BF16) or
# AMX, so on an AVX2-only CPU a frozen commit from before the harness set this would train on Eigen's kernels,
# half as fast and with other kernels than the runs on the other machines (docs/performance.md).
export TF_ENABLE_ONEDNN_OPTS=${TF_ENABLE_ONEDNN_OPTS:-1}
echo "$(date -u +%FT%TZ) TF_ENABLE_ONEDNN_OPTS=$TF_ENABLE_ONEDNN_OPTS" >> paper.log
export HARNESS_EUROSAT=${HARNESS_EUROSAT:-$REPO/../shared/data/EuroSAT_RGB.zip}
nohup setsid "$PY" -m harness run --variant paper_dcgan --profile paper --seed 0 --epochs 100 \
  --resume --no-progress --out "$EVIDENCE/paper/runs" >> paper.log 2>&1 &
echo "started from $FROZEN; log in $EVIDENCE/paper.log"
