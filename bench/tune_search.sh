#!/bin/bash
# bench/tune_search.sh - local search against random search with the same budget.
#
# usage: bench/tune_search.sh MODEL.onnx INPUT_SHAPE BUDGET_SECONDS [THREADS]
#   e.g. bench/tune_search.sh bench/work/zoo/squeezenet.onnx x=1,3,224,224 240 2
#
# Tunes the model twice into fresh databases (bench/work/tune-search/), once per search
# method, with the same budget and thread count, and prints per kernel the heuristic's
# median and the best median each method found, then the share-weighted sum of best/heuristic
# over the tuned kernels (lower is better). Both methods start from the same profile split,
# so the kernels and their budgets match.
set -euo pipefail
cd "$(dirname "$0")/.."
model=$1 shape=$2 budget=$3 threads=${4:-2}
kiln=${KILN:-build/compiler/kiln}
work=bench/work/tune-search
rm -rf "$work" && mkdir -p "$work"
for search in random local; do
  echo "== $search search, budget $budget s, $threads thread(s)" >&2
  "$kiln" tune "$model" --input-shape "$shape" --db "$work/$search.db" --budget "$budget" \
    --threads "$threads" --search "$search" > "$work/$search.txt" 2> "$work/$search.log"
done
/usr/bin/python3 - "$work" <<'PY'
import sqlite3, sys
work = sys.argv[1]
rows = {}
shares = {}
for search in ('random', 'local'):
    db = sqlite3.connect(f'{work}/{search}.db')
    for name, share in db.execute('SELECT kernel_name, share FROM session_kernels'):
        shares[name] = share
    for name, heuristic, best, count in db.execute(
            "SELECT kernel_name, max(CASE WHEN heuristic THEN median_ms END), "
            "min(CASE WHEN status = 'ok' THEN median_ms END), count(*) "
            "FROM measurements GROUP BY kernel_name"):
        rows.setdefault(name, {})[search] = (heuristic, best, count)
print(f"{'kernel':40} {'share':>6} {'random: heur':>12} {'best':>8} {'n':>4} {'local: heur':>12} {'best':>8} {'n':>4}")
total = {'random': 0.0, 'local': 0.0}
weight = 0.0
for name in sorted(rows, key=lambda n: -shares.get(n, 0)):
    r, l = rows[name].get('random'), rows[name].get('local')
    if not r or not l:
        continue
    print(f"{name[:40]:40} {100 * shares.get(name, 0):5.1f}% {r[0]:12.4f} {r[1]:8.4f} {r[2]:4d} {l[0]:12.4f} {l[1]:8.4f} {l[2]:4d}")
    for search, v in (('random', r), ('local', l)):  # each against its own heuristic run
        total[search] += shares.get(name, 0) * v[1] / v[0]
    weight += shares.get(name, 0)
print(f"share-weighted best/heuristic: random {total['random'] / weight:.3f}, local {total['local'] / weight:.3f}")
PY
