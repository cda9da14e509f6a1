#!/usr/bin/python3
"""check_tune.py - kiln tune end to end: database, bad candidates, resumption, export,
merge, compile --tuning and refusals.

usage: check_tune.py KILN WORK_DIR

1. A short tune of a small CNN (tests/tune/make_tune_model.py) under a wrapper that makes
   one candidate crash and one hang: both are recorded (crashed, timeout) and the run goes
   on; every recorded ok plan is one the heuristic's outputs agree with.
2. Resumption: a second database's run is killed (SIGKILL) after a few measurements and run
   again: it says it resumes, measures none of the plans recorded before the kill, keeps
   every row recorded before it, and each plan is measured once.
3. --export writes the best plans (JSON, sorted); kiln compile --tuning takes them from the
   database and from the JSON (same bytes), says how many kernels took a tuned plan, and
   the tuned executable matches the untuned one's outputs; plans measured on another chip
   family are not used, plans from the same family are.
4. --merge adds the other database's rows once; damaged databases and exports are refused
   with the file named and no output written.
"""
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time

import numpy as np

KILN, WORK = sys.argv[1], sys.argv[2]
HERE = os.path.dirname(os.path.abspath(__file__))
shutil.rmtree(WORK, ignore_errors=True)
os.makedirs(WORK)
failures = []


def check(condition, message):
    print(('ok   ' if condition else 'FAIL ') + message)
    if not condition:
        failures.append(message)


def run(args, **kw):
    return subprocess.run(args, capture_output=True, text=True, **kw)


model, x = os.path.join(WORK, 'tune.onnx'), os.path.join(WORK, 'x.npy')
subprocess.run([sys.executable, os.path.join(HERE, 'make_tune_model.py'), model, x], check=True)
base = [KILN, 'tune', model, '--threads', '1', '--min-time', '20', '-v']

# 1. Bad candidates are recorded and the run goes on.
db1 = os.path.join(WORK, 'one.db')
env = dict(os.environ, KILN_TEST_FAULT_COUNTER=os.path.join(WORK, 'faults'))
r = run(base + ['--db', db1, '--budget', '25', '--timeout', '4',
                '--run-wrapper', os.path.join(HERE, 'fault_wrapper.sh')], env=env)
check(r.returncode == 0, 'tune under the fault wrapper exits 0 (%d: %s)' % (r.returncode, r.stderr[-600:]))
rows = sqlite3.connect(db1).execute(
    'SELECT kernel_name, heuristic, status, median_ms FROM measurements').fetchall()
statuses = [row[2] for row in rows]
check(statuses.count('crashed') == 1, 'the crashing candidate is recorded as crashed: %s' % statuses)
check(statuses.count('timeout') == 1, 'the hanging candidate is recorded as timeout')
check(statuses.count('ok') > 3, 'other candidates were measured after them (%d ok)' % statuses.count('ok'))
kernels = {row[0] for row in rows}
heuristics = {row[0] for row in rows if row[1] == 1}
check(len(kernels) >= 3 and heuristics == kernels,
      'several kernels tuned, each with its heuristic plan measured (%s)' % sorted(kernels))
check(re.search(r'\[tune\] \d+/\d+ \S+ .* candidates, best [0-9.]+ ms \(heuristic', r.stderr) is not None,
      'progress lines show the kernel, candidates, best so far and time left')
check('tuned kernels\' part of the run' in r.stdout, 'a summary ends the run')

# 2. Resumption after SIGKILL.
db2 = os.path.join(WORK, 'two.db')
args2 = base + ['--db', db2, '--budget', '40', '--work', os.path.join(WORK, 'work2')]
first = subprocess.Popen(args2, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
deadline = time.time() + 120
count = 0
while time.time() < deadline and first.poll() is None:
    time.sleep(0.5)
    try:
        count = sqlite3.connect(db2).execute('SELECT count(*) FROM measurements').fetchone()[0]
    except sqlite3.Error:
        continue
    if count >= 6:
        break
first.send_signal(signal.SIGKILL)
first.wait()
check(count >= 6, 'the first run recorded measurements before it was killed (%d)' % count)
before = sqlite3.connect(db2).execute(
    'SELECT id, kernel_key, plan_hash, status, median_ms, recorded_at FROM measurements').fetchall()
second = run(args2)
check(second.returncode == 0, 'the rerun exits 0 (%s)' % second.stderr[-400:])
check('[tune] resuming:' in second.stderr, 'the rerun says it resumes')
measured_again = set(re.findall(r'measured ([0-9a-f]{16})', second.stderr))
hashes_before = {row[2] for row in before}
check(not (measured_again & hashes_before),
      'no plan recorded before the kill is measured again (%d new)' % len(measured_again))
after = sqlite3.connect(db2).execute(
    'SELECT id, kernel_key, plan_hash, status, median_ms, recorded_at FROM measurements').fetchall()
check(set(before) <= set(after), 'every row recorded before the kill is kept as it was')
check(len(after) > len(before), 'the rerun went on measuring (%d -> %d rows)' % (len(before), len(after)))
keys = [(row[1], row[2]) for row in after]
check(len(keys) == len(set(keys)), 'each plan is measured once')
spent = sqlite3.connect(db2).execute('SELECT sum(spent_seconds) FROM session_kernels').fetchone()[0]
check(spent is not None and spent <= 40 + 15,
      'the two runs together spent about the budget on measurements (%.1f s of 40)' % (spent or 0))

# The search's winners are confirmed against the heuristic in alternating runs.
conn2 = sqlite3.connect(db2)
winners = conn2.execute(
    "SELECT count(DISTINCT m.kernel_key) FROM measurements m JOIN measurements h "
    "ON h.kernel_key = m.kernel_key AND h.heuristic = 1 WHERE m.heuristic = 0 AND "
    "m.status = 'ok' AND m.median_ms < 0.98 * h.median_ms").fetchone()[0]
confirmed = conn2.execute('SELECT kernel_key, heuristic_ms, plan_ms, rounds FROM confirmations').fetchall()
check(winners == 0 or len({c[0] for c in confirmed}) >= 1,
      'plans that beat the heuristic in the search were confirmed (%d kernels with winners, %d confirmations)'
      % (winners, len(confirmed)))
check(all(c[3] == 3 and c[1] > 0 and c[2] > 0 for c in confirmed), 'confirmations ran 3 rounds each side')

# 3. Export and compile --tuning.
export = os.path.join(WORK, 'tuned.json')
r = run([KILN, 'tune', '--db', db2, '--export', export])
check(r.returncode == 0 and os.path.exists(export), 'export writes the JSON (%s)' % r.stderr.strip())
plans = json.load(open(export))
check(plans['format'] == 'kiln-tuning' and plans['version'] == 1, 'the export names its format')
entries = plans['plans']
check(len(entries) >= 1, 'the export has tuned plans (%d)' % len(entries))
check(all(e['median_ms'] < e['heuristic_median_ms'] for e in entries),
      'each exported plan beat its heuristic plan')
check(all(e['confirmed_ratio'] <= 0.98 for e in entries if e['confirmed_ratio'] > 0) and
      {e['kernel_key'] for e in entries} >= {c[0] for c in confirmed if c[2] <= 0.98 * c[1]},
      'exported plans are the confirmed ones where a confirmation held')
order = [(e['target'], e['chip'], e['threads'], e['kernel_key']) for e in entries]
check(order == sorted(order), 'the export is sorted')
r2 = run([KILN, 'tune', '--db', db2, '--export', export + '.again'])
check(open(export).read() == open(export + '.again').read(), 'exporting again gives the same file')

outs = {}
for name, extra in [('plain', []), ('db', ['--tuning', db2]), ('json', ['--tuning', export])]:
    d = os.path.join(WORK, 'exe-' + name)
    os.makedirs(d)
    r = run([KILN, 'compile', model, '-o', os.path.join(d, 'tune')] + extra)
    check(r.returncode == 0, 'compile %s exits 0 (%s)' % (name, r.stderr[-300:]))
    if extra:
        m = re.search(r'tuning: (\d+) of (\d+) kernel calls took a tuned plan from .* \((\d+) measured on this chip', r.stderr)
        check(m is not None and int(m.group(1)) == len(entries) and int(m.group(3)) == len(entries),
              'compile --tuning (%s) reports the tuned kernels and the chip: %s' % (name, m and m.group(0)))
    out = os.path.join(d, 'out')
    r = run([os.path.join(d, 'tune'), '--input', 'x=' + x, '--output-dir', out])
    check(r.returncode == 0, 'the %s executable runs' % name)
    outs[name] = np.load(os.path.join(out, 'y.npy'))
check(open(os.path.join(WORK, 'exe-db', 'tune'), 'rb').read() ==
      open(os.path.join(WORK, 'exe-json', 'tune'), 'rb').read(),
      'the database and its export give the same executable')
check(np.allclose(outs['db'], outs['plain'], atol=1e-4, rtol=1e-4),
      'the tuned executable computes what the untuned one does (max diff %.2g)' %
      float(np.abs(outs['db'] - outs['plain']).max()))

# Another chip family's plans are not used; the same family's are.
other = json.loads(open(export).read())
for e in other['plans']:
    e['chip'] = 'x86_64/OtherVendor/99/1/avx2'
    e['chip_family'] = 'x86_64/OtherVendor/99'
json.dump(other, open(os.path.join(WORK, 'other.json'), 'w'))
r = run([KILN, 'compile', model, '-o', os.path.join(WORK, 'exe-other'), '--tuning',
         os.path.join(WORK, 'other.json')])
check(r.returncode == 0 and 'tuning: 0 of' in r.stderr, 'plans from another chip family are not used')
family = json.loads(open(export).read())
for e in family['plans']:
    e['chip'] = e['chip_family'] + '/999/avx2'
json.dump(family, open(os.path.join(WORK, 'family.json'), 'w'))
r = run([KILN, 'compile', model, '-o', os.path.join(WORK, 'exe-family'), '--tuning',
         os.path.join(WORK, 'family.json')])
check(r.returncode == 0 and re.search(r'\(0 measured on this chip, .*; %d on its family' % len(entries), r.stderr),
      'plans from the same family are used when this chip has none')

# 4. Merge and refusals.
scope = 'kernel_key, target, chip, threads, halide_version, kiln_codegen, plan_hash'
had = set(sqlite3.connect(db1).execute('SELECT %s FROM measurements' % scope).fetchall())
theirs = set(sqlite3.connect(db2).execute('SELECT %s FROM measurements' % scope).fetchall())
r = run([KILN, 'tune', '--db', db1, '--merge', db2])
m = re.search(r'merged .*: (\d+) new measurement', r.stderr)
merged = set(sqlite3.connect(db1).execute('SELECT %s FROM measurements' % scope).fetchall())
check(r.returncode == 0 and m and int(m.group(1)) == len(theirs - had) and merged == had | theirs,
      'merge adds the other database\'s rows it lacks (%s; %d of %d new)' %
      (r.stderr.strip(), len(theirs - had), len(theirs)))
r = run([KILN, 'tune', '--db', db1, '--merge', db2])
check(r.returncode == 0 and ': 0 new measurement' in r.stderr, 'merging again adds nothing')

junk = os.path.join(WORK, 'junk.db')
open(junk, 'wb').write(b'this is not a database' * 100)
r = run([KILN, 'tune', model, '--db', junk, '--budget', '5'])
check(r.returncode == 2 and 'junk.db' in r.stderr and 'not a kiln tuning database' in r.stderr,
      'tune refuses a damaged database, naming it (%s)' % r.stderr.strip()[:200])
r = run([KILN, 'compile', model, '-o', os.path.join(WORK, 'exe-junk'), '--tuning', junk])
check(r.returncode == 2 and 'junk.db' in r.stderr and not os.path.exists(os.path.join(WORK, 'exe-junk')),
      'compile refuses a damaged tuning file and writes nothing')
foreign = os.path.join(WORK, 'foreign.db')
sqlite3.connect(foreign).execute('CREATE TABLE t (x)').connection.commit()
r = run([KILN, 'compile', model, '-o', os.path.join(WORK, 'exe-foreign'), '--tuning', foreign])
check(r.returncode == 2 and 'not a kiln tuning database' in r.stderr, 'another program\'s SQLite file is refused')
bad = json.loads(open(export).read())
if bad['plans']:
    del bad['plans'][0]['plan']
json.dump(bad, open(os.path.join(WORK, 'bad.json'), 'w'))
r = run([KILN, 'compile', model, '-o', os.path.join(WORK, 'exe-bad'), '--tuning', os.path.join(WORK, 'bad.json')])
check(r.returncode == 2 and 'plans[0]' in r.stderr, 'an export missing a plan is refused, naming the entry')
r = run([KILN, 'tune', model, '--db', os.path.join(WORK, 'x.db'), '--target', 'cortex-m4'])
check(r.returncode == 2 and 'cannot tune for target cortex-m4' in r.stderr, 'a target that does not run here is refused')

print('%d failure(s)' % len(failures))
sys.exit(1 if failures else 0)
