#!/usr/bin/env bash
# Dev tool: remake everything docs/evidence/paper derives from the paper run's committed folder (after
# tools/evidence_sync.sh): the report (per-class tables, curves, grids), the width comparison and the
# Figures 9-11 tests with Figure 3's ordering against the real-vs-real floors. Then restate docs/evidence.md.
# Usage: tools/paper_remake.sh (from anywhere; uses the repository's .venv when there is one).
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO"
PY=python3
[ -x .venv/bin/python ] && PY=.venv/bin/python
RUN=docs/evidence/paper/runs/paper_dcgan-paper-s0
OUT=docs/evidence/paper
"$PY" -m harness report "$OUT" --format md --no-floor
"$PY" tools/paper_vs_width.py "$RUN" docs/evidence/curves-20k/runs/paper_dcgan-long-s0 \
  --out "$OUT/vs-width.md" --figure "$OUT/vs-width.png" > /dev/null
"$PY" tools/paper_convergence.py "$RUN" --floor "$OUT/floor.csv" \
  --out "$OUT/convergence.md" --figure "$OUT/convergence.png" > /dev/null
echo "remade $OUT: report, vs-width.md/.png, convergence.md/.png"
