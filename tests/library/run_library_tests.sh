#!/bin/bash
# run_library_tests.sh - `kiln compile --emit static-lib|shared-lib`: two models' libraries
# link into one C program (tests/library/two_models.c), give the same bytes as the models'
# executables, export only NAME_* symbols, and their headers compile as strict C99 and C++.
# The static libraries are also built for aarch64, armhf and riscv64 and run under qemu, and
# for a Cortex-M4 (heap-free, bare metal) on qemu-system-arm.
#
# usage: run_library_tests.sh KILN_BINARY WORK_DIR
set -uo pipefail
kiln="$1"
work="$2"
here="$(cd "$(dirname "$0")" && pwd)"
rm -rf "$work" && mkdir -p "$work/models" || exit 1
passed=0
failed=0
pass() { passed=$((passed + 1)); echo "PASS $1"; }
fail() { failed=$((failed + 1)); echo "FAIL $1"; }
check() { local name="$1"; shift; if "$@" > "$work/$name.log" 2>&1; then pass "$name"; else fail "$name"; sed 's/^/  | /' "$work/$name.log" | tail -20; fi; }

/usr/bin/python3 "$here/make_models.py" "$work/models" || { echo "FAIL: cannot generate models"; exit 1; }
m="$work/models"
nm=/usr/lib/llvm-22/bin/llvm-nm

# The reference: each model as an executable.
for model in convnet mlp; do
  check "exe_$model" "$kiln" compile "$m/$model.onnx" -o "$work/exe/$model"
done
check exe_runs bash -c "'$work/exe/convnet' --input x='$m/x.npy' --output-dir '$work/exe/out' &&
  '$work/exe/mlp' --input a='$m/a.npy' --input b='$m/b.npy' --output-dir '$work/exe/out'"

# Compares DIR/{y,p,n}.bin with the executables' .npy outputs, byte for byte.
same_as_exe() {
  /usr/bin/python3 - "$1" "$work/exe/out" <<'PY'
import sys, numpy as np
got, ref = sys.argv[1], sys.argv[2]
for name in 'ypn':
    want = np.load(f'{ref}/{name}.npy')
    have = np.fromfile(f'{got}/{name}.bin', want.dtype).reshape(want.shape)
    if have.tobytes() != want.tobytes():
        sys.exit(f'{name} differs from the executable: max diff {np.abs(have - want).max()}')
PY
}

# Like same_as_exe within 1e-4 * max(1, |reference|): another target's kernels.
close_to_exe() {
  /usr/bin/python3 - "$1" "$work/exe/out" <<'PY'
import sys, numpy as np
got, ref = sys.argv[1], sys.argv[2]
for name in 'ypn':
    want = np.load(f'{ref}/{name}.npy')
    have = np.fromfile(f'{got}/{name}.bin', want.dtype).reshape(want.shape)
    tol = 1e-4 * max(1.0, float(np.abs(want).max()))
    if np.abs(have.astype(np.float64) - want).max() > tol:
        sys.exit(f'{name}: max diff {np.abs(have - want).max()} over {tol}')
PY
}

for kind in static-lib shared-lib; do
  d="$work/$kind"
  for model in convnet mlp; do
    check "${kind}_$model" "$kiln" compile "$m/$model.onnx" -o "$d/$model" --emit "$kind"
  done
  ext=a; [ "$kind" = shared-lib ] && ext=so
  check "${kind}_files" bash -c "cd '$d' && ls libconvnet.$ext convnet.h convnet.pc convnet.gguf \
    libmlp.$ext mlp.h mlp.pc mlp.gguf && ! ls -a | grep -q kiln"
  # Only the API is global: everything else (runtime, Halide's runtime, kiln_program) is local.
  for model in convnet mlp; do
    if [ "$kind" = static-lib ]; then
      symbols=$("$nm" -g --defined-only "$d/lib$model.a" | awk 'NF == 3 {print $3}')
    else
      symbols=$("$nm" -D --defined-only "$d/lib$model.so" | awk 'NF == 3 {print $3}')
    fi
    others=$(echo "$symbols" | grep -v "^${model}_" || true)
    # Nothing of the runtimes may be left to bind to another library's copy.
    if [ "$kind" = static-lib ]; then
      others+=$("$nm" -u "$d/lib$model.a" | awk '{print $2}' | grep -E '^(halide_|kiln_|k[0-9]+_)' || true)
    fi
    if [ -n "$symbols" ] && [ -z "$others" ] && echo "$symbols" | grep -qx "${model}_run"; then
      pass "${kind}_${model}_symbols"
    else
      fail "${kind}_${model}_symbols"; echo "$symbols" | sed 's/^/  | /' | head -20
    fi
  done
  # Built with pkg-config, as a user would; both libraries in one program.
  flags="--cflags --libs"; [ "$kind" = static-lib ] && flags="--static $flags"
  check "${kind}_link" bash -c "cc -std=c99 -Wall -Wextra -Werror -pedantic -o '$d/two_models' \
    '$here/two_models.c' \$(PKG_CONFIG_PATH='$d' pkg-config $flags convnet mlp)"
  cp "$m"/*.bin "$d/"
  check "${kind}_run" "$d/two_models" "$d"
  check "${kind}_same_as_exe" same_as_exe "$d"
done

# --weights embed: the weights file linked in, as an executable (no .gguf beside it) and as
# a library opened from its embedded weights, the caller's arena or the caller's memory.
d="$work/embed"
check embed_exe "$kiln" compile "$m/mlp.onnx" -o "$d/exe/mlp" --weights embed
check embed_exe_alone bash -c "! ls '$d/exe/mlp.gguf' 2> /dev/null &&
  '$d/exe/mlp' --input a='$m/a.npy' --input b='$m/b.npy' --output-dir '$d/exe/out' &&
  cmp '$d/exe/out/p.npy' '$work/exe/out/p.npy' && cmp '$d/exe/out/n.npy' '$work/exe/out/n.npy'"
check embed_lib "$kiln" compile "$m/mlp.onnx" -o "$d/mlp" --emit static-lib --weights embed
check embed_lib_sizes grep -Eq "library mlp: code [0-9]+, read-only data [0-9]+, data [0-9]+, zero-initialized [0-9]+ bytes, embedded weights [0-9]+ bytes \(the weights included\)" "$work/embed_lib.log"
check embed_lib_files bash -c "! ls '$d/mlp.gguf' 2> /dev/null && ! grep -q weights= '$d/mlp.pc' &&
  /usr/lib/llvm-22/bin/llvm-objdump -h '$d/libmlp.a' | grep -q '\.rodata\.kiln_weights'"
check embed_link bash -c "cc -std=c11 -Wall -Wextra -Werror -pedantic -o '$d/embedded' \
  '$here/embedded.c' \$(PKG_CONFIG_PATH='$d' pkg-config --static --cflags --libs mlp)"
cp "$m"/a.bin "$m"/b.bin "$d/" && cp "$work/static-lib/mlp.gguf" "$d/mlp-file.gguf"
check embed_run "$d/embedded" "$d"
check embed_same_as_exe /usr/bin/python3 -c "
import numpy as np, sys
for name in 'pn':
    want = np.load('$work/exe/out/%s.npy' % name)
    have = np.fromfile('$d/%s.bin' % name, want.dtype)
    assert have.tobytes() == want.tobytes(), name"

# Names: a file name maps to an identifier prefix; names that could clash with the
# library's own symbols are refused; a rebuild as the other kind removes the stale library.
check name_mapped bash -c "'$kiln' compile '$m/mlp.onnx' -o '$work/names/my-model' --emit static-lib &&
  ls '$work/names/libmy-model.a' '$work/names/my-model.h' '$work/names/my-model.gguf' &&
  grep -q 'my_model_status my_model_open(' '$work/names/my-model.h' &&
  ! $nm -g --defined-only '$work/names/libmy-model.a' | awk 'NF == 3 {print \$3}' | grep -v '^my_model_'"
for bad in "kiln-net:must not start with 'kiln'" "2net:must start with a letter" \
           "k12_conv:must not look like a kernel's name"; do
  name="${bad%%:*}"
  if "$kiln" compile "$m/mlp.onnx" -o "$work/names/$name" --emit static-lib > "$work/bad_$name.log" 2>&1 ||
     ! grep -q "${bad#*:}" "$work/bad_$name.log"; then
    fail "name_refused_$name"; sed 's/^/  | /' "$work/bad_$name.log"
  else
    pass "name_refused_$name"
  fi
done
check stale_kind bash -c "'$kiln' compile '$m/mlp.onnx' -o '$work/stale/mlp' --emit shared-lib &&
  '$kiln' compile '$m/mlp.onnx' -o '$work/stale/mlp' --emit static-lib --weights embed &&
  ls '$work/stale/libmlp.a' && ! ls '$work/stale/libmlp.so' '$work/stale/mlp.gguf' 2> /dev/null"

# Reproducible: a cold kernel cache gives the same bytes as the warm one.
check reproducible bash -c "KILN_CACHE_DIR='$work/cold-cache' '$kiln' compile '$m/mlp.onnx' \
  -o '$work/cold/mlp' --emit static-lib && cmp '$work/cold/libmlp.a' '$work/static-lib/libmlp.a' &&
  cmp '$work/cold/mlp.h' '$work/static-lib/mlp.h' && cmp '$work/cold/mlp.gguf' '$work/static-lib/mlp.gguf'"

# The headers alone: strict C99 and C++, both in one translation unit.
printf '#include "convnet.h"\n#include "mlp.h"\nint main(void) { return MLP_OK + CONVNET_OK; }\n' \
  > "$work/headers.c"
check header_c99 cc -std=c99 -Wall -Wextra -Werror -pedantic -fsyntax-only -I"$work/static-lib" "$work/headers.c"
check header_cxx c++ -std=c++17 -Wall -Wextra -Werror -pedantic -fsyntax-only -x c++ -I"$work/static-lib" "$work/headers.c"

# Bad uses are refused before anything is built.
if "$kiln" compile "$m/mlp.onnx" -o "$work/bad/my model" --emit static-lib > "$work/bad_name.log" 2>&1 ||
   ! grep -q "a library's name" "$work/bad_name.log" || [ -e "$work/bad" ]; then
  fail bad_name; sed 's/^/  | /' "$work/bad_name.log"
else
  pass bad_name
fi
if "$kiln" compile "$m/mlp.onnx" -o "$work/bad/mlp" --emit static > "$work/bad_kind.log" 2>&1 ||
   ! grep -q "exe, static-lib or shared-lib" "$work/bad_kind.log"; then
  fail bad_kind; sed 's/^/  | /' "$work/bad_kind.log"
else
  pass bad_kind
fi

# Cross: static libraries for 64- and 32-bit ARM and RISC-V in the same program, run under
# qemu (each where its cross compiler and qemu are installed).
for cross in "aarch64 aarch64-linux-gnu qemu-aarch64" "armhf arm-linux-gnueabihf qemu-arm" \
             "riscv64 riscv64-linux-gnu qemu-riscv64"; do
  read -r target triple qemu <<< "$cross"
  if ! command -v "$qemu" > /dev/null || ! command -v "$triple-gcc" > /dev/null; then
    echo "SKIP $target (no $qemu or $triple-gcc)"
    continue
  fi
  d="$work/$target"
  for model in convnet mlp; do
    check "${target}_$model" "$kiln" compile "$m/$model.onnx" -o "$d/$model" --emit static-lib --target "$target"
  done
  check "${target}_link" bash -c "'$triple-gcc' -std=c99 -Wall -Werror -O2 -o '$d/two_models' \
    '$here/two_models.c' \$(PKG_CONFIG_PATH='$d' pkg-config --static --cflags --libs convnet mlp)"
  cp "$m"/*.bin "$d/"
  check "${target}_run" "$qemu" -L "/usr/$triple" "$d/two_models" "$d"
  # Other kernels (the target's schedules), so close to the host's rather than identical.
  check "${target}_close_to_exe" close_to_exe "$d"
done

# Bare metal: both models' heap-free libraries for a Cortex-M4 in one firmware
# (tests/library/bare_metal.c) on qemu's mps2-an386, through semihosting.
if command -v arm-none-eabi-gcc > /dev/null && command -v qemu-system-arm > /dev/null; then
  d="$work/cortex-m4"
  for model in convnet mlp; do
    check "cortex-m4_$model" "$kiln" compile "$m/$model.onnx" -o "$d/$model" --emit static-lib \
      --target cortex-m4
  done
  # Heap-free: nothing of malloc, stdio, threads or files is left for the firmware to supply.
  check cortex-m4_no_libc bash -c "! arm-none-eabi-nm -u '$d/libconvnet.a' '$d/libmlp.a' |
    awk 'NF == 2 {print \$2}' | grep -Ev '^(memcpy|memset|memcmp|__aeabi_[a-z0-9]+|[a-z]+f)\$'"
  check cortex-m4_link bash -c "arm-none-eabi-gcc --specs=picolibc.specs --crt0=semihost \
    --oslib=semihost -mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16 -std=c11 -O2 \
    -Wall -Wextra -Werror -Wl,--defsym=__flash=0x0 -Wl,--defsym=__flash_size=0x400000 \
    -Wl,--defsym=__ram=0x20000000 -Wl,--defsym=__ram_size=0x400000 -Wl,--no-warn-execstack \
    -o '$d/bare_metal' '$here/bare_metal.c' \
    \$(PKG_CONFIG_PATH='$d' pkg-config --static --cflags --libs convnet mlp)"
  cp "$m"/*.bin "$d/"
  check cortex-m4_run "$here/../../scripts/run-bare-metal" cortex-m4 "$d/bare_metal" "$d"
  check cortex-m4_close_to_exe close_to_exe "$d"
else
  echo "SKIP cortex-m4 (no arm-none-eabi-gcc or qemu-system-arm)"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
