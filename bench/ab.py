#!/usr/bin/python3
"""ab.py - two or more builds of one model, timed interleaved, kernel by kernel.

usage: bench/ab.py [--threads 2] [--rounds 12] [--runs 20] [--pin CPUS] [--weights FILE]
                   [--top 25] --input NAME=FILE.npy [--input ...] EXE_A EXE_B [EXE_C ...]

Each round runs every executable once (`--bench RUNS --threads T --profile`), in the order
given, so a slow phase of the machine (this VM has them: identical executables up to 25% apart
for tens of seconds) hits every build in turn instead of one. Reported per executable: the
latency and each kernel's mean time as the lower quartile over the rounds (a phase inflates
some rounds; the quartile keeps the undisturbed ones), kernels ordered by the first
executable's time, and last/first per kernel. --pin runs every executable under `taskset -c
CPUS` (at 1 thread, the core the process lands on otherwise decides its speed). --weights
gives all of them one weights file, for builds whose weights are byte-identical (a plan
change); by default each reads its own EXE.gguf.

Kernels are matched by name, so compare builds of the same model whose kernels are numbered
alike (a pass that removes kernels renumbers the rest: compare the latency line then).
"""
import argparse
import re
import statistics
import subprocess
import sys


def lower_quartile(values):
    values = sorted(values)
    return values[len(values) // 4]


def main():
    parser = argparse.ArgumentParser(usage=__doc__.split('\n\n')[1])
    parser.add_argument('--threads', default='2')
    parser.add_argument('--rounds', type=int, default=12)
    parser.add_argument('--runs', default='20')
    parser.add_argument('--pin')
    parser.add_argument('--weights')
    parser.add_argument('--top', type=int, default=25)
    parser.add_argument('--input', action='append', required=True)
    parser.add_argument('executables', nargs='+')
    args = parser.parse_args()
    if len(args.executables) < 2:
        parser.error('give at least two executables')

    count = len(args.executables)
    kernels = [{} for _ in range(count)]  # by position: the same executable may come twice
    latency = [[] for _ in range(count)]
    for _ in range(args.rounds):
        for i, exe in enumerate(args.executables):
            command = ['taskset', '-c', args.pin] if args.pin else []
            command += [exe, '--bench', args.runs, '--threads', args.threads, '--profile']
            for value in args.input:
                command += ['--input', value]
            if args.weights:
                command += ['--weights', args.weights]
            run = subprocess.run(command, capture_output=True, text=True)
            if run.returncode != 0:
                sys.exit(f'{exe} failed:\n{run.stderr}')
            for name, ms in re.findall(r'^(\S+)\s+([\d.]+)\s+[\d.]+%$', run.stdout, re.M):
                if name != 'total':
                    kernels[i].setdefault(name, []).append(float(ms))
            latency[i].append(float(re.search(r'median ([\d.]+) ms', run.stdout).group(1)))

    width = max(len(exe) for exe in args.executables)
    print(f'{args.rounds} rounds of {args.runs} runs at {args.threads} thread(s)'
          + (f', pinned to {args.pin}' if args.pin else '') + '; lower quartile of the rounds')
    for i, exe in enumerate(args.executables):
        print(f'  {i} {exe:<{width}}  latency {lower_quartile(latency[i]):8.3f} ms'
              f'  (median of rounds {statistics.median(latency[i]):.3f})')
    print(f'  last/first latency: {lower_quartile(latency[-1]) / lower_quartile(latency[0]):.3f}')
    names = sorted(kernels[0], key=lambda k: -lower_quartile(kernels[0][k]))
    print(f'\n{"kernel":<28}' + ''.join(f'{i:>10}' for i in range(count)) + '  last/first')
    for name in names[:args.top]:
        times = [lower_quartile(k[name]) if name in k else float('nan') for k in kernels]
        print(f'{name:<28}' + ''.join(f'{t:10.3f}' for t in times) + f'  {times[-1] / times[0]:10.2f}')


if __name__ == '__main__':
    main()
