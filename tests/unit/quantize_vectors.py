#!/usr/bin/python3
# quantize_vectors.py - generates tests/unit/quantize_vectors.inc, the expected GGML block bytes.
#
# quantize_test.cpp checks kiln's C++ quantizers (compiler/quantize/GgmlQuants.cpp) byte for
# byte against the vectors this script prints. The script is a second, independent
# implementation of the same definitions, written in numpy after ggml's reference quantizers
# (ggml/src/ggml-quants.c: quantize_row_{q8_0,q4_0,q4_1,q5_0,q5_1}_ref, dequantize_row_*) and
# their numpy twin (gguf-py/gguf/quants.py). Every step is done in float32 exactly as the C code
# rounds it; the places where C leaves the result to the platform (the float->int8 cast of a
# non-finite value, the optional fused multiply-add in Q4_0/Q5_0) are spelled out below.
#
# Regenerate after changing a case:
#   /usr/bin/python3 tests/unit/quantize_vectors.py > tests/unit/quantize_vectors.inc

import math
import sys
from fractions import Fraction

import numpy as np

F32 = np.float32
BLOCK = 32

# format name -> (C++ enumerator, bytes per block)
FORMATS = {
    "q8_0": ("Q8_0", 34),
    "q4_0": ("Q4_0", 18),
    "q4_1": ("Q4_1", 20),
    "q5_0": ("Q5_0", 22),
    "q5_1": ("Q5_1", 24),
}


# ----------------------------------------------------------------------------------------------
# Scalar helpers that pin down what the C code does
# ----------------------------------------------------------------------------------------------

def f16_bits(value: np.float32) -> int:
    """fp32 -> fp16 bits, round to nearest even (numpy's own conversion, independent of kiln)."""
    with np.errstate(over="ignore"):  # values past 65519.99 become inf, which is the point
        return int(np.array([value], dtype=np.float32).astype(np.float16).view(np.uint16)[0])


def f16_value(bits: int) -> np.float32:
    return np.array([bits], dtype=np.uint16).view(np.float16).astype(np.float32)[0]


def f32_bits(value) -> int:
    return int(np.array([value], dtype=np.float32).view(np.uint32)[0])


def x86_int32(value: np.float32) -> int:
    """The C cast float -> int8_t/uint8_t as ggml's x86-64 build executes it: cvttss2si to int32
    (truncation; NaN, inf and out-of-range give the 'integer indefinite' 0x80000000), then the
    low byte is kept."""
    v = float(value)
    if not math.isfinite(v) or v >= 2.0**31 or v < -(2.0**31):
        return -(2**31)
    return int(math.trunc(v))


def low_byte_signed(i: int) -> int:
    b = i & 0xFF
    return b - 256 if b >= 128 else b


def roundf(value: np.float32) -> float:
    """C roundf: nearest integer, halfway cases away from zero. float64 holds a float32 and its
    floor exactly, so `a - floor(a)` is exact."""
    v = float(value)
    if not math.isfinite(v):
        return v
    a = abs(v)
    f = math.floor(a)
    r = f + (1.0 if a - f >= 0.5 else 0.0)
    return math.copysign(r, v)


def round_fraction_to_f32(exact: Fraction) -> np.float32:
    """Correct rounding (nearest, ties to even) of an exact rational to float32."""
    guess = np.float32(float(exact))
    candidates = [np.nextafter(guess, F32(-np.inf), dtype=F32), guess,
                  np.nextafter(guess, F32(np.inf), dtype=F32)]
    best = None
    for c in candidates:
        if not np.isfinite(c):
            continue
        distance = abs(Fraction(float(c)) - exact)
        key = (distance, f32_bits(c) & 1)  # on a tie prefer the even significand
        if best is None or key < best[0]:
            best = (key, c)
    return best[1]


def multiply_add(x: np.float32, scale: np.float32, offset: np.float32, fused: bool) -> np.float32:
    """`x*scale + offset` in float32: rounded twice (the ISO C reading of ggml's two statements,
    what current x86-64 builds and gguf-py compute), or once like fmaf (what builds that let the
    compiler contract the two statements compute, e.g. GCC on AArch64)."""
    if not fused:
        product = F32(x) * F32(scale)
        return F32(product + F32(offset))
    if not (np.isfinite(x) and np.isfinite(scale)):
        return F32(x) * F32(scale) + F32(offset)  # inf/NaN propagate the same either way
    exact = Fraction(float(x)) * Fraction(float(scale)) + Fraction(float(offset))
    return round_fraction_to_f32(exact)


# ----------------------------------------------------------------------------------------------
# One block of 32 floats -> bytes, after ggml-quants.c
# ----------------------------------------------------------------------------------------------

def le16(v: int) -> list[int]:
    return [v & 0xFF, (v >> 8) & 0xFF]


def le32(v: int) -> list[int]:
    return [(v >> (8 * i)) & 0xFF for i in range(4)]


def signed_max(block: np.ndarray) -> np.float32:
    """The element of largest magnitude, keeping its sign; the first one wins a tie (ggml's loop
    replaces it only on a strictly larger |v|)."""
    amax, vmax = F32(0), F32(0)
    for v in block:
        if amax < abs(v):
            amax, vmax = abs(v), v
    return vmax


def reciprocal(d: np.float32) -> np.float32:
    # np.float32 division by a subnormal overflows to inf like C does; silence the warning.
    with np.errstate(divide="ignore", over="ignore"):
        return F32(F32(1) / d) if d != 0 else F32(0)


def quantize_q8_0(block, fused):
    amax = F32(0)
    for v in block:
        amax = amax if amax > abs(v) else abs(v)
    d = F32(amax / F32(127))
    inverse = reciprocal(d)
    out = le16(f16_bits(d))
    with np.errstate(invalid="ignore", over="ignore"):
        for v in block:
            out.append(x86_int32(roundf(F32(v * inverse))) & 0xFF)
    return out


def quantize_symmetric_nibbles(block, fused, levels_half, clamp, five_bits):
    """Q4_0 (levels_half=8) and Q5_0 (levels_half=16): d = max/-levels_half,
    q = min(clamp, (int8)(x/d + levels_half + 0.5))."""
    d = F32(signed_max(block) / F32(-levels_half))
    inverse = reciprocal(d)
    offset = F32(levels_half + 0.5)
    with np.errstate(invalid="ignore", over="ignore"):
        q = [min(clamp, low_byte_signed(x86_int32(multiply_add(v, inverse, offset, fused)))) & 0xFF
             for v in block]
    return le16(f16_bits(d)) + pack(q, five_bits)


def quantize_offset_nibbles(block, fused, levels, clamp, five_bits):
    """Q4_1 (levels=15, clamp 15) and Q5_1 (levels=31, no clamp in ggml):
    d = (max-min)/levels, q = (int)((x-min)/d + 0.5)."""
    vmin, vmax = F32(np.finfo(F32).max), F32(-np.finfo(F32).max)
    for v in block:
        vmin = v if v < vmin else vmin
        vmax = v if v > vmax else vmax
    d = F32(F32(vmax - vmin) / F32(levels))
    inverse = reciprocal(d)
    q = []
    with np.errstate(invalid="ignore", over="ignore"):
        for v in block:
            value = x86_int32(multiply_add(F32(v - vmin), inverse, F32(0.5), fused))
            if clamp is None:
                q.append(value & 0xFF)  # Q5_1 casts straight to uint8_t
            else:
                q.append(min(clamp, low_byte_signed(value)) & 0xFF)
    return le16(f16_bits(d)) + le16(f16_bits(vmin)) + pack(q, five_bits)


def pack(q, five_bits):
    """Element j in the low nibble of byte j, element j+16 in the high nibble; for 5-bit formats
    bit 4 of element j goes to bit j of the little-endian qh word, which precedes the nibbles."""
    if not five_bits:
        # Q4_0/Q4_1 store `lo | hi << 4` without masking (ggml: qs = xi0; qs |= xi1 << 4).
        return [(q[j] | (q[j + 16] << 4)) & 0xFF for j in range(16)]
    nibbles = [(q[j] & 0x0F) | ((q[j + 16] & 0x0F) << 4) for j in range(16)]
    qh = 0
    for j in range(32):
        qh |= ((q[j] >> 4) & 1) << j
    return le32(qh) + nibbles


def quantize_block(name, block, fused):
    if name == "q8_0":
        return quantize_q8_0(block, fused)
    if name == "q4_0":
        return quantize_symmetric_nibbles(block, fused, 8, 15, False)
    if name == "q5_0":
        return quantize_symmetric_nibbles(block, fused, 16, 31, True)
    if name == "q4_1":
        return quantize_offset_nibbles(block, fused, 15, 15, False)
    if name == "q5_1":
        return quantize_offset_nibbles(block, fused, 31, None, True)
    raise ValueError(name)


def dequantize_block(name, raw):
    """dequantize_row_*: every q*d is exact in float32 (q has at most 8 bits, d 11), so the only
    rounding is the `+ m` of the offset formats."""
    d = f16_value(raw[0] | (raw[1] << 8))
    if name == "q8_0":
        return [F32(F32(low_byte_signed(b)) * d) for b in raw[2:34]]
    if name in ("q4_0", "q4_1"):
        m = f16_value(raw[2] | (raw[3] << 8)) if name == "q4_1" else None
        nibbles = raw[4:20] if m is not None else raw[2:18]
        q = [b & 0x0F for b in nibbles] + [b >> 4 for b in nibbles]
    else:
        m = f16_value(raw[2] | (raw[3] << 8)) if name == "q5_1" else None
        start = 4 if m is not None else 2
        qh = sum(raw[start + i] << (8 * i) for i in range(4))
        nibbles = raw[start + 4:start + 20]
        q = [b & 0x0F for b in nibbles] + [b >> 4 for b in nibbles]
        q = [q[j] | (((qh >> j) & 1) << 4) for j in range(32)]
    if m is None:
        offset = 8 if name == "q4_0" else 16
        return [F32(F32(v - offset) * d) for v in q]
    return [F32(F32(F32(v) * d) + m) for v in q]


def quantize_rows(name, data, fused):
    """data: (rows, length) float32, zero-padded to a multiple of 32 like kiln's padRowsToBlock."""
    rows, length = data.shape
    padded_length = (length + BLOCK - 1) // BLOCK * BLOCK
    padded = np.zeros((rows, padded_length), dtype=F32)
    padded[:, :length] = data
    raw, values = [], []
    for r in range(rows):
        for b in range(0, padded_length, BLOCK):
            block_bytes = quantize_block(name, padded[r, b:b + BLOCK], fused)
            assert len(block_bytes) == FORMATS[name][1]
            raw += block_bytes
            values += dequantize_block(name, block_bytes)
    return raw, values


# ----------------------------------------------------------------------------------------------
# The cases
# ----------------------------------------------------------------------------------------------

def row(values) -> np.ndarray:
    return np.array(values, dtype=F32).reshape(1, -1)


def fma_sensitive_block(fmt: str, seed: int) -> np.ndarray:
    """A block where, for format `fmt`, the single rounding of a fused multiply-add and the two
    roundings of ggml's separate statements truncate to different quants. With s = the
    offset ggml adds (8.5, 16.5, or 0.5 for Q4_1/Q5_1) and u = the float32 spacing of the sums
    just under the integer above s, pick x so that p = x*id lies a hair under t = 0.5 - u/2.
    The separate product rounds onto t (p's own grid is finer than u), s + t is a tie that
    rounds up to the integer, and truncation keeps it; the fused sum is a hair under the tie,
    rounds down, and truncates to one less. Q4_1/Q5_1 can only differ at quant 0 versus 1:
    elsewhere p and the sum share a binade and so a grid. Deterministic search from `seed`."""
    rng = np.random.RandomState(seed)
    with_minimum = fmt in ("q4_1", "q5_1")
    offset = {"q4_0": F32(8.5), "q5_0": F32(16.5)}.get(fmt, F32(0.5))
    target = 0.5 - float(np.spacing(offset)) / 2
    for _ in range(100000):
        magnitude = F32(rng.uniform(1.0, 2.0))
        if with_minimum:
            # min = 0, max = magnitude: x - min = x, d = magnitude / levels
            d = F32(magnitude / F32(15 if fmt == "q4_1" else 31))
            block = np.linspace(0.0, 1.0, BLOCK).astype(F32) * magnitude
        else:
            # the first element is the signed max: d = -magnitude / -halfRange > 0
            d = F32(-magnitude / F32(-8 if fmt == "q4_0" else -16))
            block = np.linspace(-0.9, 0.9, BLOCK).astype(F32) * magnitude
            block[0] = -magnitude
        inverse = reciprocal(d)
        x = F32(target / float(inverse))
        for candidate in (x, np.nextafter(x, F32(1)), np.nextafter(x, F32(0))):
            separate = x86_int32(multiply_add(candidate, inverse, offset, False))
            fused = x86_int32(multiply_add(candidate, inverse, offset, True))
            if separate != fused:
                block[5] = candidate
                return block
    raise RuntimeError("no FMA-sensitive block found for " + fmt)


def cases():
    """(name, rows as float32 array, whether to emit fused-rounding vectors too), fixed order."""
    out = []

    def add(name, data, fused_too=False):
        out.append((name, data, fused_too))

    add("zeros", row([0.0] * 32))
    add("constant_positive", row([0.75] * 32))
    add("constant_negative", row([-3.25] * 32))
    add("constant_not_fp16", row([0.1] * 32))  # m = fp16(0.1) != 0.1
    add("plus_minus_max", row([1000.0 if j % 2 == 0 else -1000.0 for j in range(32)]))
    # Equal magnitudes: Q4_0/Q5_0 take the sign of the first, which flips d's sign.
    add("tie_positive_first", row([3.0, -3.0] + [0.5 * (j - 15) / 15 for j in range(30)]))
    add("tie_negative_first", row([-3.0, 3.0] + [0.5 * (j - 15) / 15 for j in range(30)]))
    # x/d exactly on a half: Q8_0 rounds away from zero, Q4_0/Q5_0/Q4_1/Q5_1 round half up.
    add("halfway_d1", row([-8.0] + [(-1.0) ** j * (j // 2 + 0.5) for j in range(1, 16)]
                          + [7.5, -7.5, 6.5, -6.5, 0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 3.5, -3.5,
                             4.5, -4.5, 5.5, -5.5]))
    add("halfway_q8", row([127.0] + [(-1.0) ** j * (j + 0.5) for j in range(31)]))
    # +8*|d| opposite the max: x/d + 8.5 = 16.5 truncates to 16 and clamps to 15 (reads as 7).
    add("opposite_extreme", row([-8.0, 8.0] + [0.25 * j for j in range(30)]))
    add("mixed_signs", row(np.linspace(-2.5, 1.75, 32)[np.random.RandomState(7).permutation(32)]))
    # Tiny values: 1e-8 is below the smallest fp16 (d stores as 0 while q is still computed
    # from the fp32 d); 5e-38 makes d an fp32 subnormal; 1e-40 is itself subnormal and makes
    # 1/d overflow to inf, so q comes from inf/NaN products.
    add("tiny_1e-8", row([1e-8 * ((j % 7) - 3) for j in range(32)]))
    add("tiny_1e-20", row([1e-20 * ((j % 5) - 2.5) for j in range(32)]))
    add("subnormal_scale_5e-38", row([5e-38 * ((j % 9) - 4) / 4 for j in range(32)]))
    add("subnormal_input_1e-40", row([1e-40 * ((j % 3) - 1) for j in range(32)]))
    add("fp16_scale_limit", row([65504.0 * 8] + [1000.0 * j for j in range(31)]))
    rng = np.random.RandomState(1234)
    add("random_normal", (rng.randn(2, 64) * 0.05).astype(F32))
    rng = np.random.RandomState(99)
    signs = np.where(rng.rand(2, 64) < 0.5, -1.0, 1.0)
    add("random_wide_range", (signs * np.exp(rng.uniform(-12, 6, (2, 64)))).astype(F32))
    rng = np.random.RandomState(5)
    add("padded_row_45", (rng.randn(3, 45)).astype(F32))
    add("padded_row_45_nonnegative", np.abs(np.random.RandomState(6).randn(2, 45)).astype(F32))
    # Fused rounding only applies to the four nibble formats (Q8_0 has no add).
    for seed, fmt in enumerate(("q4_0", "q4_1", "q5_0", "q5_1")):
        add(f"fma_sensitive_{fmt}", fma_sensitive_block(fmt, 2024 + seed).reshape(1, -1),
            fused_too=True)
    return out


# ----------------------------------------------------------------------------------------------
# fp16 conversion vectors (numpy's RNE conversion)
# ----------------------------------------------------------------------------------------------

def fp16_cases():
    values = [0.0, -0.0, 1.0, -2.0, 0.1, 1.0 / 3.0, 65504.0, 65519.0, 65519.996, 65520.0,
              -65520.0, 1e6, 2.0**-14, 2.0**-14 * (1 - 2.0**-11), 2.0**-24, 2.0**-25,
              2.0**-25 * (1 + 2.0**-23), 3 * 2.0**-26, 2.0**-26, 1e-8, -1e-8, 5.96e-8, 1e-40,
              -1e-40, 1.0 + 2.0**-11, 1.0 + 3 * 2.0**-11, 1.0 + 2.0**-11 + 2.0**-23,
              2049.0, 2051.0, 4097.0, 6.1e-5, -3.0e-7]
    out = []
    for v in values:
        f = F32(v)
        out.append((f32_bits(f), f16_bits(f)))
    return out


# ----------------------------------------------------------------------------------------------
# C++ output
# ----------------------------------------------------------------------------------------------

def ident(name: str) -> str:
    return name.replace("-", "_")


def hex_list(values, width, per_line, indent=5):
    items = [f"0x{v:0{width}x}" + ("u" if width == 8 else "") for v in values]
    lines = [", ".join(items[i:i + per_line]) for i in range(0, len(items), per_line)]
    return (",\n" + " " * indent).join(lines)


def main():
    w = sys.stdout.write
    w("// quantize_vectors.inc - expected GGML block bytes for quantize_test.cpp (generated).\n")
    w("//\n")
    w("// GENERATED by tests/unit/quantize_vectors.py from its independent numpy model of ggml's\n")
    w("// reference quantizers; do not edit by hand. Regenerate with\n")
    w("//   /usr/bin/python3 tests/unit/quantize_vectors.py > tests/unit/quantize_vectors.inc\n")
    w("// Floats are IEEE bit patterns. `input` holds rows x rowLength values (rowLength may be\n")
    w("// short of a multiple of 32: the test pads it); `dequantized` holds the padded rows.\n\n")
    all_cases = cases()
    for name, data, _ in all_cases:
        w(f"static const std::vector<uint32_t> kInput_{ident(name)} = {{\n")
        w(f"    {hex_list([f32_bits(v) for v in data.reshape(-1)], 8, 6, 4)}}};\n")
    w("\nstatic const QuantVector kQuantVectors[] = {\n")
    for name, data, fused_too in all_cases:
        rows, length = data.shape
        separate_bytes = {}
        for fmt in FORMATS:
            for fused in ([False, True] if fused_too and fmt != "q8_0" else [False]):
                raw, values = quantize_rows(fmt, data, fused)
                label = f"{name}_{fmt}" + ("_fused" if fused else "")
                rounding = "Fused" if fused else "Separate"
                if not fused:
                    separate_bytes[fmt] = raw
                elif raw == separate_bytes[fmt]:
                    sys.stderr.write(f"note: {label} equals the separate rounding\n")
                w(f"  {{\"{label}\", kiln::GgmlQuantFormat::{FORMATS[fmt][0]}, "
                  f"kiln::GgmlRounding::{rounding}, {rows}, {length},\n")
                w(f"    &kInput_{ident(name)},\n")
                w(f"    {{{hex_list(raw, 2, 16)}}},\n")
                w(f"    {{{hex_list([f32_bits(v) for v in values], 8, 6)}}}}},\n")
    w("};\n\n")
    w("static const Fp16Vector kFp16Vectors[] = {\n")
    for f, h in fp16_cases():
        w(f"  {{0x{f:08x}u, 0x{h:04x}}},\n")
    w("};\n")


if __name__ == "__main__":
    main()
