#!/bin/bash
# bench/pointwise.sh - the CPU heuristic's template for pointwise convolutions on narrow maps
# against the alternatives, one kernel at a time.
#
# usage: bench/pointwise.sh [THREADS] [IN,OUT,SIZE ...]
#   e.g. bench/pointwise.sh 2 48,192,13 384,64,13 1024,256,14
#
# For each shape, builds a model of one 1x1 convolution + Relu (targets/test/
# make_pointwise_model.py), compiles the heuristic plan and variants of it through --plans
# (across channels in tiles of 2, 3 and 4 vectors; pixel vectors of 2 and 3 vectors x 8
# channels), and prints the best median of 3 runs of 500 of each, in ms, with the heuristic's
# choice and the best variant over the heuristic (below 1.0: the heuristic left time on the
# table). The shapes by default are the pointwise layers of SqueezeNet (13x13), MNASNet,
# RegNetX and ResNet-50 (14x14, 7x7) and a 10x10 map.
set -euo pipefail
cd "$(dirname "$0")/.."
threads=${1:-2}
shift || true
shapes=("$@")
[ ${#shapes[@]} -gt 0 ] || shapes=(48,192,13 64,256,13 256,48,13 384,64,13 512,64,13 512,1000,13
  80,480,14 240,80,14 128,128,14 576,96,14 288,672,14 256,1024,14 1024,256,14 160,160,10
  640,128,10 512,2048,7 2048,512,7)
kiln=${KILN:-build/compiler/kiln}
work=bench/work/pointwise
mkdir -p "$work"
export KILN_CACHE_DIR=${KILN_CACHE_DIR:-build/kiln-cache}
variants=(across:32 across:48 across:64 pixels:32 pixels:48)
printf '%-16s %-16s %9s' shape heuristic heuristic
for v in "${variants[@]}"; do printf ' %11s' "$v"; done
printf ' %10s\n' best/heur
time_of() {  # EXE NPY -> best median of 3 runs
  local best=
  for _ in 1 2 3; do
    local t
    t=$("$1" --input "x=$2" --bench 500 --threads "$threads" | sed -n 's/.*median \([0-9.]*\) ms.*/\1/p')
    best=$(/usr/bin/python3 -c "print(min(float('$t'), float('${best:-inf}')))")
  done
  echo "$best"
}
for shape in "${shapes[@]}"; do
  IFS=, read -r cin cout size <<< "$shape"
  name="k${cin}_${cout}_${size}"
  /usr/bin/python3 targets/test/make_pointwise_model.py "$cin" "$cout" "$size" \
    "$work/$name.onnx" "$work/$name.npy"
  "$kiln" compile "$work/$name.onnx" -o "$work/$name" --emit-plans "$work/$name.json" \
    > "$work/$name.log" 2>&1 || { cat "$work/$name.log" >&2; exit 1; }
  heuristic=$(/usr/bin/python3 -c "import json; p = json.load(open('$work/$name.json'))['plans'][0]['stages'][-1]; print(p['schedule'], p.get('columns', ''))")
  base=$(time_of "$work/$name" "$work/$name.npy")
  printf '%-16s %-16s %9.4f' "$shape" "$heuristic" "$base"
  best=$base
  for v in "${variants[@]}"; do
    IFS=: read -r template columns <<< "$v"
    /usr/bin/python3 - "$work/$name.json" "$work/$name.variant.json" "$template" "$columns" <<'PY'
import json, sys
source, target, template, columns = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
plans = json.load(open(source))
stage = plans['plans'][0]['stages'][-1]
stage.pop('row_dim', None)
stage.pop('rows', None)
stage['columns'] = columns
if template == 'across':
    stage['schedule'] = 'across_channels'
else:
    stage.update(schedule='register_tiles', row_dim=2, rows=8)
json.dump(plans, open(target, 'w'))
PY
    if "$kiln" compile "$work/$name.onnx" -o "$work/$name.variant" --plans "$work/$name.variant.json" > /dev/null 2>&1; then
      t=$(time_of "$work/$name.variant" "$work/$name.npy")
      best=$(/usr/bin/python3 -c "print(min($t, $best))")
      printf ' %11.4f' "$t"
    else
      printf ' %11s' refused
    fi
  done
  /usr/bin/python3 -c "print(' %10.2f' % ($best / $base))"
done
