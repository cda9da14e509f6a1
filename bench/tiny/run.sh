#!/usr/bin/env bash
# bench/tiny/run.sh [WORK] [TARGETS...] - MLPerf Tiny-shaped models on the small targets
# (default: the four Cortex-M cores; also armhf, riscv64 under qemu-user, wasm32-wasi on Node):
# builds each model (float and int8 QDQ, bench/tiny/make_tiny_models.py) as a static library
# (sizes: the library's code, read-only data and data, the arena the header asks for, the
# weights) and as a semihosting executable, checks the executable's output against
# onnxruntime (tests/models/check_model.js), and counts the instructions of one inference
# under qemu (bare metal: -icount shift=0, one virtual nanosecond per instruction; --bench
# reports the median of 3 runs after a warm-up; "-" elsewhere, and no library sizes for
# wasm32-wasi, which makes executables only). Prints a Markdown table for docs/embedded.md; exits 1
# if an output does not match. int8 models are checked against onnxruntime running the
# operators as written (--ort-optimization disabled): its fused integer kernels round
# differently from QuantizeLinear's definition, which kiln computes exactly.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
work="${1:-$root/build/bench-tiny}"
shift || true
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=(cortex-m4 cortex-m7 cortex-m33 cortex-m55)
kiln="$root/build/compiler/kiln"
mkdir -p "$work/models"
/usr/bin/python3 "$root/bench/tiny/make_tiny_models.py" "$work/models" > /dev/null
declare -A shapes=([kws_dscnn]=1,1,49,10 [vww_mbv1]=1,3,96,96 [ic_resnet8]=1,3,32,32 [ad_fc]=1,640)
failures=0
echo "| target | model | code | read-only data | data | arena | weights | instructions per inference | max abs diff vs onnxruntime |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---|"
for target in "${targets[@]}"; do
  case "$target" in
    cortex-m*) runner="$root/scripts/run-bare-metal $target" ;;
    armhf) runner="qemu-arm -L /usr/arm-linux-gnueabihf" ;;
    riscv64) runner="qemu-riscv64 -L /usr/riscv64-linux-gnu" ;;
    wasm32-wasi) runner="node --no-warnings $root/scripts/run-wasi.js" ;;
    *) echo "bench/tiny/run.sh: no way to run '$target' here" >&2; exit 2 ;;
  esac
  for model in kws_dscnn vww_mbv1 ic_resnet8 ad_fc; do
    for variant in "" _int8; do
      name="$model$variant"
      dir="$work/$target/$name"
      mkdir -p "$dir/lib"
      sizes=""
      [[ $target == wasm32-wasi ]] ||
        sizes=$("$kiln" compile "$work/models/$name.onnx" --target "$target" --weights embed \
                  --emit static-lib --input-shape "input=${shapes[$model]}" -o "$dir/lib/$model" 2>&1 |
                sed -n "s/^\[kiln\] library $model: //p")
      code=$(sed -E 's/^code ([0-9]+).*/\1/' <<< "$sizes")
      rodata=$(sed -E 's/.*read-only data ([0-9]+).*/\1/' <<< "$sizes")
      data=$(sed -E 's/.*, data ([0-9]+).*/\1/' <<< "$sizes")
      weights=$(sed -E 's/.*embedded weights ([0-9]+).*/\1/' <<< "$sizes")
      [[ -n $sizes ]] || code=- rodata=- data=- weights=-
      upper=$(tr '[:lower:]' '[:upper:]' <<< "$model")
      arena=$(sed -n "s/^#define ${upper}_ARENA_BYTES \([0-9]*\)u.*/\1/p" "$dir/lib/$model.h" 2>/dev/null || true)
      arena=${arena:--}
      check=$(node "$root/tests/models/check_model.js" --kiln "$kiln" \
                --model "$work/models/$name.onnx" --shape "input=${shapes[$model]}" \
                --work "$dir/exe" --target "$target" --weights embed \
                ${variant:+--ort-optimization disabled} \
                --runner "$runner" 2>&1 | grep -E "^(PASS|FAIL)" || true)
      diff=$(sed -E 's/.*max abs diff ([^ ]+) .*/\1/' <<< "$check" | head -1)
      verdict=$(cut -d' ' -f1 <<< "$check" | head -1)
      [[ "$verdict" == PASS ]] || failures=$((failures + 1))
      instructions=-
      if [[ $target == cortex-m* ]]; then
        latency=$("$root/scripts/run-bare-metal" "$target" "$dir/exe/$name" \
                    --input "input=$dir/exe/input.npy" --bench 3 2>/dev/null |
                  sed -n 's/^latency: median \([0-9.]*\) virtual ms.*/\1/p')
        instructions=$(awk -v ms="$latency" 'BEGIN { printf "%.2fM", ms }')
      fi
      echo "| $target | $name | $code | $rodata | $data | $arena | $weights | $instructions | $diff ($verdict) |"
    done
  done
done
[[ $failures -eq 0 ]]
