#!/usr/bin/env bash
# Dev tool: remake everything docs/evidence/paper derives from the paper runs' committed folders (after
# tools/evidence_sync.sh). The first run: the report (per-class tables, curves, grids), the width comparison and
# the Figures 9-11 tests with Figure 3's ordering against the real-vs-real floors. The rerun (the same code and
# seed on another CPU, in paper/rerun): its comparison with the first run and its own Figures 9-11 tests. The
# third draw (the same again on a third CPU, in paper/third): its comparison with each earlier run, its own
# Figures 9-11 tests, and the three draws' spread at each evaluated epoch (paper/draws.md). Then restate
# docs/evidence.md.
# Usage: tools/paper_remake.sh [all|first|rerun|third] (default all, which remakes the third draw's only once it
# is synced; from anywhere; uses the repository's .venv when there is one).
set -euo pipefail
WHICH=${1:-all}
case "$WHICH" in all|first|rerun|third) ;; *) echo "paper_remake.sh: '$WHICH' is not all, first, rerun or third" >&2; exit 2 ;; esac
REPO=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO"
PY=python3
[ -x .venv/bin/python ] && PY=.venv/bin/python
OUT=docs/evidence/paper
RUN=$OUT/runs/paper_dcgan-paper-s0
RERUN=$OUT/rerun/runs/paper_dcgan-paper-s0
THIRD=$OUT/third/runs/paper_dcgan-paper-s0
if [ "$WHICH" = all ] || [ "$WHICH" = first ]; then
  "$PY" -m harness report "$OUT" --format md --no-floor
  "$PY" tools/paper_vs_width.py "$RUN" docs/evidence/curves-20k/runs/paper_dcgan-long-s0 \
    --out "$OUT/vs-width.md" --figure "$OUT/vs-width.png" > /dev/null
  "$PY" tools/paper_convergence.py "$RUN" --floor "$OUT/floor.csv" \
    --out "$OUT/convergence.md" --figure "$OUT/convergence.png" > /dev/null
  echo "remade $OUT: report, vs-width.md/.png, convergence.md/.png"
fi
if [ "$WHICH" = all ] || [ "$WHICH" = rerun ]; then
  "$PY" tools/paper_rerun.py "$RUN" "$RERUN" --out "$OUT/rerun.md" --figure "$OUT/rerun.png" > /dev/null
  "$PY" tools/paper_convergence.py "$RERUN" --floor "$OUT/floor.csv" \
    --out "$OUT/rerun/convergence.md" --figure "$OUT/rerun/convergence.png" > /dev/null
  echo "remade $OUT: rerun.md/.png, rerun/convergence.md/.png"
fi
if [ "$WHICH" = third ] || { [ "$WHICH" = all ] && [ -d "$THIRD" ]; }; then
  [ -d "$THIRD" ] || { echo "paper_remake.sh: $THIRD is not there: sync the third draw first" >&2; exit 2; }
  "$PY" tools/paper_rerun.py "$RUN" "$THIRD" --out "$OUT/third/vs-first.md" --figure "$OUT/third/vs-first.png" > /dev/null
  "$PY" tools/paper_rerun.py "$RERUN" "$THIRD" --out "$OUT/third/vs-rerun.md" --figure "$OUT/third/vs-rerun.png" > /dev/null
  "$PY" tools/paper_convergence.py "$THIRD" --floor "$OUT/floor.csv" \
    --out "$OUT/third/convergence.md" --figure "$OUT/third/convergence.png" > /dev/null
  "$PY" tools/paper_draws.py "$RUN" "$RERUN" "$THIRD" --names first,rerun,third --out "$OUT/draws.md" \
    --figure "$OUT/draws.png" > /dev/null
  echo "remade $OUT/third: vs-first.md/.png, vs-rerun.md/.png, convergence.md/.png; $OUT/draws.md/.png"
fi
