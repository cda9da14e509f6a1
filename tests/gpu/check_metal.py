#!/usr/bin/python3
"""check_metal.py - the Metal build kit holds what a Mac needs to link and run the model.

usage: check_metal.py KILN WORK_DIR

Nothing here can link or run a macOS program, so this checks the kit `kiln compile --target
metal` writes: every kernel object is an arm64 Mach-O object with Metal shading-language
source embedded (one `kernel void` per device loop), every kernel the glue calls is defined by
exactly one object, the Halide runtime object provides the Metal device interface, the
Makefile names every object and runtime source, and the glue and runtime compile as C11.
"""
import os
import re
import struct
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, 'tests', 'lib'))
import end_to_end  # noqa: E402

MODEL = os.path.join(ROOT, 'node_modules', '@gutenye', 'ocr-models', 'assets',
                     'ch_ppocr_mobile_v2.0_cls_infer.onnx')
NM = '/usr/lib/llvm-22/bin/llvm-nm'
MACHO_64 = 0xfeedfacf
CPU_ARM64 = 0x0100000c


def defined_symbols(path):
    out = subprocess.run([NM, '--defined-only', path], capture_output=True, text=True,
                         check=True).stdout
    return {line.split()[-1] for line in out.splitlines() if line.strip()}


def main():
    kiln, work = sys.argv[1], sys.argv[2]
    os.makedirs(work, exist_ok=True)
    tally = end_to_end.Tally()
    kit = os.path.join(work, 'cls')
    result = subprocess.run([kiln, 'compile', MODEL, '-o', kit, '--target', 'metal',
                             '--input-shape', 'x=1,3,48,192'], capture_output=True, text=True)
    tally.check(result.returncode == 0, 'cls compiles for metal' +
                ('' if result.returncode == 0 else ': ' + result.stderr[-400:]))
    if result.returncode != 0:
        return tally.finish()
    for name in ('Makefile', 'README', 'glue.c', 'objects/halide_runtime.o',
                 'runtime/include/kiln/program.h', 'runtime/src/device.c', 'include/HalideRuntimeMetal.h'):
        tally.check(os.path.exists(os.path.join(kit, name)), f'the kit has {name}')
    tally.check(os.path.exists(kit + '.gguf'), 'the weights are beside the kit')

    objects = sorted(f for f in os.listdir(os.path.join(kit, 'objects')) if f.startswith('kiln_'))
    bad_header, no_source, kernels = [], [], 0
    defined = {}
    for name in objects:
        path = os.path.join(kit, 'objects', name)
        data = open(path, 'rb').read()
        magic, cputype = struct.unpack_from('<II', data)
        if magic != MACHO_64 or cputype != CPU_ARM64:
            bad_header.append(name)
        start = data.find(b'#include <metal_stdlib>')
        if start < 0:
            no_source.append(name)
        else:
            source = data[start:data.index(b'\0', start)].decode()
            kernels += len(re.findall(r'\bkernel void \w+\(', source))
        for symbol in defined_symbols(path):
            defined.setdefault(symbol, []).append(name)
    tally.check(objects and not bad_header,
                f'{len(objects)} kernel objects are arm64 Mach-O' + (f' (not: {bad_header[:3]})' if bad_header else ''))
    tally.check(objects and not no_source and kernels >= len(objects),
                f'each embeds Metal source ({kernels} kernel functions in all)')

    glue = open(os.path.join(kit, 'glue.c')).read()
    called = set(re.findall(r'^int (kiln_[0-9a-f]+)\(', glue, re.M))
    missing = [s for s in called if len(defined.get('_' + s, [])) != 1]
    tally.check(called and not missing,
                f'each of the {len(called)} kernels the glue calls is defined by one object' +
                (f' (not: {missing[:3]})' if missing else ''))
    runtime = defined_symbols(os.path.join(kit, 'objects', 'halide_runtime.o'))
    tally.check('_halide_metal_device_interface' in runtime,
                'the Halide runtime object provides halide_metal_device_interface')
    makefile = open(os.path.join(kit, 'Makefile')).read()
    tally.check(all('objects/' + o in makefile for o in objects) and '-framework Metal' in makefile,
                'the Makefile links every object with the Metal framework')
    sources = re.findall(r'runtime/src/\w+\.c', makefile)
    compile_check = subprocess.run(
        ['cc', '-std=c11', '-fsyntax-only', '-Wall', '-Iruntime/include', '-Iruntime/src',
         '-Iinclude', 'glue.c', *sources], cwd=kit, capture_output=True, text=True)
    tally.check(compile_check.returncode == 0, f'glue.c and {len(sources)} runtime sources compile as C11' +
                ('' if compile_check.returncode == 0 else ': ' + compile_check.stderr[-400:]))
    return tally.finish()


if __name__ == '__main__':
    sys.exit(main())
