#!/usr/bin/env bash
# Dev tool: copy the background evidence runs (tools/evidence_jobs.sh) into docs/evidence: the paper run as it
# stands, and every finished long cell. No checkpoints, tensorboard logs, exported generators, domain caches or
# lock files; the paper run's sample grids thinned to epochs 1-4, every 5th and the latest (the repository
# stays small). Then remake the reports: tools/paper_remake.sh (first, rerun or all).
# Usage: tools/evidence_sync.sh [EVIDENCE_DIR=/work/evidence] [PAPER_DEST=docs/evidence/paper] (PAPER_DEST relative
# to the repository: a second run of the protocol, such as the rerun on another machine, goes to its own folder).
# Copy while a job writes and the copy may catch a half-written table: the reports refuse such a table in one
# line; copy again.
set -euo pipefail
EVIDENCE=${1:-/work/evidence}
REPO=$(cd "$(dirname "$0")/.." && pwd)
PAPER="$REPO/${2:-docs/evidence/paper}"
EX=(--exclude checkpoints --exclude tensorboard --exclude generator.keras --exclude .lock --exclude .tables.lock
    --exclude domain)
mkdir -p "$PAPER/runs"
kept_grid() {  # epoch $1's grid is kept if it is one of epochs 1-4, every 5th, or the latest ($2 = $3)
  [ "$1" -le 4 ] || [ $(($1 % 5)) -eq 0 ] || [ "$2" = "$3" ]
}
epoch_of() { echo $((10#$(basename "$1" .png | sed 's/epoch-//'))); }
rsync -a "${EX[@]}" --exclude samples "$EVIDENCE/paper/runs/" "$PAPER/runs/"
for run in "$EVIDENCE"/paper/runs/*/; do
  kept="$PAPER/runs/$(basename "$run")/samples"
  mkdir -p "$kept"
  latest=$(basename "$(ls "$run"samples/epoch-*.png 2>/dev/null | tail -1)" 2>/dev/null || true)
  for grid in "$run"samples/epoch-*.png; do
    [ -e "$grid" ] && kept_grid "$(epoch_of "$grid")" "$(basename "$grid")" "$latest" && cp -p "$grid" "$kept/"
  done
  for grid in "$kept"/epoch-*.png; do  # an earlier sync's latest grid goes once a later one is there
    [ -e "$grid" ] && ! kept_grid "$(epoch_of "$grid")" "$(basename "$grid")" "$latest" && rm "$grid"
  done
done
for cell in "$EVIDENCE"/long/runs/*/; do
  if [ "$(cat "$cell/status" 2>/dev/null)" = "done" ]; then rsync -a "${EX[@]}" "${cell%/}" "$REPO/docs/evidence/long/runs/"; fi
done
echo "copied from $EVIDENCE; remake the reports next"
