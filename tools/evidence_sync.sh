#!/usr/bin/env bash
# Dev tool: copy the background evidence runs (tools/evidence_jobs.sh) into docs/evidence: the paper run as it
# stands, and every finished long cell. No checkpoints, tensorboard logs, exported generators, domain caches or
# lock files; the paper run's sample grids thinned to epochs 1-4, every 5th and the latest (the repository
# stays small). Then remake the reports (see docs/evidence.md for the commands).
# Usage: tools/evidence_sync.sh [EVIDENCE_DIR=/work/evidence]
set -euo pipefail
EVIDENCE=${1:-/work/evidence}
REPO=$(cd "$(dirname "$0")/.." && pwd)
EX=(--exclude checkpoints --exclude tensorboard --exclude generator.keras --exclude .lock --exclude .tables.lock
    --exclude domain)
mkdir -p "$REPO/docs/evidence/paper/runs"
rsync -a "${EX[@]}" --exclude 'samples/epoch-*[1-46-9].png' "$EVIDENCE/paper/runs/" "$REPO/docs/evidence/paper/runs/"
for run in "$EVIDENCE"/paper/runs/*/; do
  latest=$(ls "$run"samples/epoch-*.png 2>/dev/null | tail -1 || true)
  [ -n "$latest" ] && cp "$latest" "$REPO/docs/evidence/paper/runs/$(basename "$run")/samples/"
done
for cell in "$EVIDENCE"/long/runs/*/; do
  if [ "$(cat "$cell/status" 2>/dev/null)" = "done" ]; then rsync -a "${EX[@]}" "${cell%/}" "$REPO/docs/evidence/long/runs/"; fi
done
echo "copied from $EVIDENCE; remake the reports next"
