#!/usr/bin/env bash
# Dev tool: start (or resume) the long-running evidence jobs in the background, from a frozen copy of the code at
# COMMIT (every sitting of every run records that commit), one job per core:
#   core 0: the long study's seeds 3 then 4 of paper_dcgan, the modern variant, nearest_upsampling and no_batchnorm
#   core 1: the paper protocol's run (paper_dcgan, profile paper, seed 0, to 100 epochs)
# Usage: tools/evidence_jobs.sh COMMIT [EVIDENCE_DIR=/work/evidence]; logs in EVIDENCE_DIR/*.log.
# Both jobs resume their run folders; finished cells are skipped. Stop a job with SIGTERM (jobs started in the
# background ignore SIGINT); it resumes from its last finished epoch. Copy finished cells into docs/evidence without
# checkpoints, tensorboard or exported generators.
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
export HARNESS_EUROSAT=${HARNESS_EUROSAT:-$REPO/../shared/data/EuroSAT_RGB.zip}
LONG_VARIANTS=paper_dcgan,sn_hinge_projection_diffaug_ema,nearest_upsampling,no_batchnorm
nohup setsid bash -c "
  for seeds in 3 4; do
    taskset -c 0 '$PY' -m harness sweep --variants $LONG_VARIANTS \
      --seeds \$seeds --profile long --jobs 1 --out '$EVIDENCE/long/runs' >> long-s\$seeds.log 2>&1
  done" > /dev/null 2>&1 &
nohup setsid taskset -c 1 "$PY" -m harness run --variant paper_dcgan --profile paper --seed 0 --epochs 100 \
  --resume --no-progress --out "$EVIDENCE/paper/runs" >> paper.log 2>&1 &
echo "started from $FROZEN; logs in $EVIDENCE"
