#!/usr/bin/python3
"""check_selection.py - outputs whose length depends on the data, against onnxruntime.

NonZero (float and bool inputs; dense, sparse and all-zero runs), NonMaxSuppression
(corner and centre boxes; thresholds and the per-class maximum as model inputs; one node
without a score threshold) and Unique (flattened and along an axis, sorted and in order of
first occurrence) run on the host as runtime functions, their buffers planned for the bound
(and Det within 1e-5, MaxPool's Indices in both storage orders and MaxUnpool of them: host
ops and a scatter with static shapes; TfIdfVectorizer with skip-grams in every mode); each output's .npy must have the run's shape and match onnxruntime exactly.
Host, aarch64 under qemu, OpenCL on PoCL and wasm32-wasi on Node, where installed.
usage: check_selection.py KILN WORK_DIR
"""
import os
import shutil
import subprocess
import sys

import numpy as np
import onnx
from onnx import helper, TensorProto

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'lib'))
import end_to_end  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
F32, I64, BOOL = TensorProto.FLOAT, TensorProto.INT64, TensorProto.BOOL


def build(work):
    def info(name, kind, shape):
        return helper.make_tensor_value_info(name, kind, shape)
    nodes = [
        helper.make_node('NonZero', ['x'], ['x_nonzero']),
        helper.make_node('Greater', ['x', 'x_limit'], ['mask']),
        helper.make_node('NonZero', ['mask'], ['mask_nonzero']),
        helper.make_node('NonMaxSuppression', ['boxes', 'scores', 'max_boxes', 'iou', 'score_min'],
                         ['corner_selected']),
        helper.make_node('NonMaxSuppression', ['centre_boxes', 'scores', 'max_boxes', 'iou',
                                               'score_min'], ['centre_selected'], center_point_box=1),
        helper.make_node('NonMaxSuppression', ['boxes', 'scores', 'max_boxes', 'iou'],
                         ['unthresholded_selected']),
    ]
    unique_outputs = []
    for name, source, attrs in (('u_sorted', 'u', {}), ('u_first', 'u', {'sorted': 0}),
                                ('v_axis1', 'v', {'axis': 1}), ('v_first', 'v', {'axis': -2, 'sorted': 0})):
        results = [f'{name}_{k}' for k in ('y', 'indices', 'inverse', 'counts')]
        nodes.append(helper.make_node('Unique', [source], results, **attrs))
        kind, y_shape = (I64, [None]) if source == 'u' else (F32, [2, None, 3])
        unique_outputs += [info(results[0], kind, y_shape)] + [info(r, I64, [None]) for r in results[1:]]
    nodes.append(helper.make_node('Det', ['matrices'], ['det']))
    unique_outputs.append(info('det', F32, [2, 3]))
    # MaxPool's Indices (row- and column-major) and MaxUnpool of them.
    for order in (0, 1):
        nodes.append(helper.make_node('MaxPool', ['planes'], [f'pooled{order}', f'where{order}'],
                                      kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1],
                                      storage_order=order))
        unique_outputs += [info(f'pooled{order}', F32, [2, 3, 4, 4]),
                           info(f'where{order}', I64, [2, 3, 4, 4])]
    # TfIdfVectorizer (a host op): uni-, bi- and trigrams with skips, TF, IDF
    # and TFIDF weights.
    pool = [2, 3, 5, 4, 5, 4, 2, 3, 5, 2, 3, 4, 2, 5, 3, 4, 2]  # 4 unigrams, 5 bigrams, 1 trigram
    for mode in ('TF', 'IDF', 'TFIDF'):
        nodes.append(helper.make_node(
            'TfIdfVectorizer', ['tokens'], [f'tfidf_{mode}'], mode=mode, min_gram_length=1,
            max_gram_length=3, max_skip_count=2, ngram_counts=[0, 4, 14],
            ngram_indexes=[0, 1, 2, 3, 4, 5, 6, 7, 8, 9], pool_int64s=pool,
            weights=[0.5, 1.5, 2.0, 0.25, 1.0, 3.0, 0.75, 1.25, 2.5, 0.1]))
        unique_outputs.append(info(f'tfidf_{mode}', F32, [2, 10]))
    nodes.append(helper.make_node('MaxUnpool', ['pooled0', 'where0'], ['unpooled'],
                                  kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]))
    unique_outputs.append(info('unpooled', F32, [2, 3, 7, 7]))
    inputs = [info('tokens', I64, [2, 12]), info('planes', F32, [2, 3, 7, 7]), info('matrices', F32, [2, 3, 4, 4]), info('u', I64, [12]), info('v', F32, [2, 5, 3]),
              info('x', F32, [3, 4, 5]), info('x_limit', F32, []), info('boxes', F32, [2, 40, 4]),
              info('centre_boxes', F32, [2, 40, 4]), info('scores', F32, [2, 3, 40]),
              info('max_boxes', I64, [1]), info('iou', F32, [1]), info('score_min', F32, [1])]
    outputs = [info('x_nonzero', I64, [3, None]), info('mask_nonzero', I64, [3, None])] + [
        info(f'{k}_selected', I64, [None, 3]) for k in ('corner', 'centre', 'unthresholded')] + unique_outputs
    graph = helper.make_graph(nodes, 'selection', inputs, outputs)
    path = os.path.join(work, 'selection.onnx')
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid('', 17)]), path)
    return path


def data(rng, density, max_boxes):
    x = rng.uniform(-1, 1, [3, 4, 5]).astype(np.float32)
    x[rng.uniform(0, 1, x.shape) > density] = 0
    corners = rng.uniform(0, 10, [2, 40, 2]).astype(np.float32)
    sizes = rng.uniform(0.5, 4, [2, 40, 2]).astype(np.float32)
    boxes = np.concatenate([corners, corners + sizes], axis=2)
    boxes[:, ::3] = boxes[:, ::3][:, :, [2, 3, 0, 1]]  # some boxes given flipped
    centre = np.concatenate([corners + sizes / 2, sizes], axis=2)[:, :, [1, 0, 3, 2]]
    scores = rng.uniform(0, 1, [2, 3, 40]).astype(np.float32)
    scores[0, 0, 5:9] = 0.75  # ties: lower index first
    v = rng.integers(-2, 3, [2, 5, 3]).astype(np.float32)
    v[:, 3] = v[:, 1]  # repeated slices along axis 1
    matrices = rng.uniform(-1, 1, [2, 3, 4, 4]).astype(np.float32)
    matrices[1, 2, 3] = matrices[1, 2, 0]  # singular
    planes = rng.permutation(2 * 3 * 7 * 7).reshape(2, 3, 7, 7).astype(np.float32)  # no ties
    return {'tokens': rng.integers(1, 6, [2, 12]).astype(np.int64), 'planes': planes, 'matrices': matrices, 'u': rng.integers(-3, 4, [12]).astype(np.int64), 'v': v,
            'x': x, 'x_limit': np.array(0.25, np.float32), 'boxes': boxes,
            'centre_boxes': centre.astype(np.float32), 'scores': scores,
            'max_boxes': np.array([max_boxes], np.int64), 'iou': np.array([0.3], np.float32),
            'score_min': np.array([0.2], np.float32)}


def main():
    kiln, work = sys.argv[1], os.path.abspath(sys.argv[2])
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    path = build(work)
    rng = np.random.default_rng(21)
    runs = {'dense': data(rng, 0.9, 6), 'sparse': data(rng, 0.1, 40), 'empty': data(rng, 0.0, 0)}
    files, refs = {}, {}
    for run, values in runs.items():
        files[run] = {}
        for name, value in values.items():
            files[run][name] = os.path.join(work, f'{run}_{name}.npy')
            np.save(files[run][name], value)
        refs[run] = os.path.join(work, f'{run}_ort')
        subprocess.run(['node', os.path.join(ROOT, 'tests', 'lib', 'ort_reference.js'), path,
                        refs[run], *[f'{k}={v}' for k, v in files[run].items()]],
                       check=True, capture_output=True)
    tally = end_to_end.Tally()
    names = ['x_nonzero', 'mask_nonzero', 'corner_selected', 'centre_selected',
             'unthresholded_selected'] + [f'{n}_{k}' for n in ('u_sorted', 'u_first', 'v_axis1', 'v_first')
                                          for k in ('y', 'indices', 'inverse', 'counts')] + [
                 'det', 'pooled0', 'where0', 'where1', 'unpooled', 'tfidf_TF', 'tfidf_IDF',
                 'tfidf_TFIDF']
    for target, runner, flags in end_to_end.targets_with_wasi():
        exe = os.path.join(work, f'selection_{target}')
        text = end_to_end.compile_model(kiln, path, exe, '--target', target, *flags)
        tally.check(text.count('kiln.with_extent') == 17, f'{target}: 17 varying-length outputs')
        for run in runs:
            out = f'{exe}.{run}.out'
            os.makedirs(out, exist_ok=True)
            args = [a for k, v in files[run].items() for a in ('--input', f'{k}={v}')]
            subprocess.run(runner + [exe, *args, '--output-dir', out], check=True, capture_output=True)
            for name in names:
                got = np.load(os.path.join(out, f'{name}.npy'))
                ref = np.load(os.path.join(refs[run], f'{name}.npy'))
                same = np.array_equal(got, ref) if got.dtype.kind != 'f' else (
                    np.abs(got - ref).max(initial=0) <= 1e-5 * max(1.0, np.abs(ref).max(initial=0)))
                tally.check(got.shape == ref.shape and same,
                            f'{target} {run} {name}: shape {list(got.shape)} (onnxruntime '
                            f'{list(ref.shape)})')
    # A varying length may only be a model output so far: a clear error otherwise.
    nodes = [helper.make_node('NonZero', ['x'], ['i']), helper.make_node('Neg', ['i'], ['y'])]
    graph = helper.make_graph(nodes, 'misuse', [helper.make_tensor_value_info('x', F32, [4])],
                              [helper.make_tensor_value_info('y', I64, [1, None])])
    misuse = os.path.join(work, 'misuse.onnx')
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid('', 17)]), misuse)
    ran = subprocess.run([kiln, 'compile', misuse, '-o', os.path.join(work, 'misuse')],
                         capture_output=True, text=True)
    tally.check(ran.returncode != 0 and 'depends on the data' in ran.stderr and 'Neg' in ran.stderr,
                f'a varying length feeding another op is refused: {ran.stderr.strip()[:200]}')
    return tally.finish()


if __name__ == '__main__':
    sys.exit(main())
