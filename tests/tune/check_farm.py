#!/usr/bin/python3
"""check_farm.py - kiln tune on a farm: nats-server (JetStream) on loopback, two kiln-worker
processes, one killed (SIGKILL) while it measures, the coordinator killed and restarted.

usage: check_farm.py KILN KILN_WORKER WORK_DIR

Checks: the coordinator finds the workers' chip; every candidate is measured exactly once
in the database (each recorded plan once, and as many rows as the coordinator measured);
the job the killed worker held is finished by the other worker after its ack wait; the
restarted coordinator resumes (records what the results stream holds, measures nothing
recorded again); rows carry the workers' chip; a worker stops cleanly on SIGTERM; a
coordinator with no workers on the farm stops with a clear error. Then, on fresh servers:
jobs of 5 s with a 2 s ack wait are not redelivered (in-progress acks); a candidate that
kills every worker that takes it (tests/tune/killer_wrapper.sh) is dropped after
--max-deliver deliveries and recorded once as crashed, and the tune finishes.
"""
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time

KILN, WORKER, WORK = sys.argv[1], sys.argv[2], sys.argv[3]
HERE = os.path.dirname(os.path.abspath(__file__))
shutil.rmtree(WORK, ignore_errors=True)
os.makedirs(WORK)
failures = []
processes = []


def check(condition, message):
    print(('ok   ' if condition else 'FAIL ') + message, flush=True)
    if not condition:
        failures.append(message)


def start(args, log):
    p = subprocess.Popen(args, stdout=open(log + '.out', 'w'), stderr=open(log, 'w'))
    processes.append(p)
    return p


def wait_for(predicate, seconds):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def rows(db):
    try:
        return sqlite3.connect(db).execute(
            'SELECT kernel_key, plan_hash, status, chip FROM measurements').fetchall()
    except sqlite3.Error:
        return []


def listening(port):
    try:
        socket.create_connection(('127.0.0.1', port), 1).close()
        return True
    except OSError:
        return False


def text(path):
    return open(path).read() if os.path.exists(path) else ''


try:
    def start_server(name):
        sock = socket.socket()
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]
        sock.close()
        server = start(['nats-server', '-a', '127.0.0.1', '-p', str(port), '-js', '-sd',
                        os.path.join(WORK, name)], os.path.join(WORK, name + '.log'))
        check(wait_for(lambda: listening(port), 20), 'nats-server (%s) listens on loopback' % name)
        return server, 'nats://127.0.0.1:%d' % port

    server, url = start_server('jetstream')

    model, x = os.path.join(WORK, 'tune.onnx'), os.path.join(WORK, 'x.npy')
    subprocess.run([sys.executable, os.path.join(HERE, 'make_tune_model.py'), model, x], check=True)

    # A coordinator alone waits for workers, then says none came.
    r = subprocess.run([KILN, 'tune', model, '--db', os.path.join(WORK, 'none.db'), '--farm', url,
                        '--budget', '5'], capture_output=True, text=True)
    check(r.returncode == 2 and 'no worker announced itself' in r.stderr,
          'with no workers, tune stops with a clear error (%s)' % r.stderr.strip()[-160:])

    logs = [os.path.join(WORK, 'worker%d.log' % i) for i in (1, 2)]
    workers = [start([WORKER, '--farm', url, '--ack-wait', '4', '--max-deliver', '3'], log)
               for log in logs]
    check(wait_for(lambda: all('serving chip' in text(l) for l in logs), 20), 'both workers start')
    chip = subprocess.run([WORKER, '--chip'], capture_output=True, text=True).stdout.strip()

    db = os.path.join(WORK, 'farm.db')
    tune = [KILN, 'tune', model, '--db', db, '--farm', url, '--budget', '40', '--threads', '1',
            '--min-time', '300', '--work', os.path.join(WORK, 'coordinator'), '-v']
    coordinator_log = os.path.join(WORK, 'coordinator1.log')
    coordinator = start(tune, coordinator_log)

    # Kill worker 1 while it measures: after a few results, at its next "measuring" line.
    check(wait_for(lambda: len(rows(db)) >= 3, 120), 'the farm measures candidates')
    seen = text(logs[0]).count('measuring')
    busy = wait_for(lambda: text(logs[0]).count('measuring') > seen, 60)
    held = re.findall(r'measuring ([0-9a-f]{16})', text(logs[0]))[-1] if busy else None
    workers[0].send_signal(signal.SIGKILL)
    workers[0].wait()
    check(busy and held is not None, 'worker 1 was killed while measuring job %s' % held)
    check(wait_for(lambda: held and re.search(held + r': ', text(logs[1])) is not None, 90),
          'worker 2 finished the job worker 1 held, after its ack wait')

    # Kill the coordinator, restart it: it resumes from the database and the stream.
    check(wait_for(lambda: len(rows(db)) >= 10 or coordinator.poll() is not None, 120),
          'more candidates measured after the worker died')
    coordinator.send_signal(signal.SIGKILL)
    coordinator.wait()
    before = rows(db)
    coordinator_log2 = os.path.join(WORK, 'coordinator2.log')
    second = start(tune, coordinator_log2)
    check(second.wait(timeout=600) == 0, 'the restarted coordinator finishes (exit %s)' % second.returncode)
    log2 = text(coordinator_log2)
    check('[tune] resuming:' in log2, 'the restarted coordinator resumes')
    again = set(re.findall(r'measured ([0-9a-f]{16})', log2))
    check(not (again & {r[1] for r in before}), 'nothing recorded before the restart is measured again')

    after = rows(db)
    keys = [(r[0], r[1]) for r in after]
    check(len(keys) == len(set(keys)), 'every candidate is in the database exactly once (%d rows)' % len(keys))
    measured = set(re.findall(r'measured ([0-9a-f]{16})', text(coordinator_log))) | again
    check(len(measured) <= len(after) and len(after) >= 10,
          'the coordinators measured %d candidates; the database has %d rows' % (len(measured), len(after)))
    check(all(r[3] == chip for r in after), 'rows carry the workers\' chip key')
    check(sum(r[2] == 'ok' for r in after) >= len(after) // 2, 'most candidates measured ok')

    workers[1].send_signal(signal.SIGTERM)
    check(workers[1].wait(timeout=30) == 0 and 'stopping after' in text(logs[1]),
          'worker 2 stops cleanly on SIGTERM')
    server.kill()

    # Jobs longer than the ack wait: in-progress acks keep them with their worker.
    server, url = start_server('jetstream-long')
    logs = [os.path.join(WORK, 'long-worker%d.log' % i) for i in (1, 2)]
    workers = [start([WORKER, '--farm', url, '--ack-wait', '2'], log) for log in logs]
    check(wait_for(lambda: all('serving chip' in text(l) for l in logs), 20), 'two workers with a 2 s ack wait start')
    r = subprocess.run([KILN, 'tune', model, '--db', os.path.join(WORK, 'long.db'), '--farm', url,
                        '--budget', '15', '--min-share', '25', '--threads', '1', '--min-time', '5000',
                        '--work', os.path.join(WORK, 'long')], capture_output=True, text=True)
    check(r.returncode == 0, 'a tune with 5 s measurements finishes (%s)' % r.stderr[-300:])
    started = re.findall(r'measuring ([0-9a-f]{16})', text(logs[0]) + text(logs[1]))
    long_rows = rows(os.path.join(WORK, 'long.db'))
    check(len(started) >= 2 and len(started) == len(set(started)) and
          all(r[2] == 'ok' for r in long_rows),
          'jobs longer than the ack wait stay with their worker: %d jobs, none delivered twice' % len(started))
    for w in workers:
        w.kill()
        w.wait()
    server.kill()

    # A candidate that kills every worker that takes it is dropped after MaxDeliver
    # deliveries, and the coordinator records it as crashed.
    server, url = start_server('jetstream-killer')
    state = os.path.join(WORK, 'killer-job')
    env = dict(os.environ, KILN_TEST_KILLER_STATE=state)
    worker_args = [WORKER, '--farm', url, '--ack-wait', '2', '--max-deliver', '2',
                   '--run-wrapper', os.path.join(HERE, 'killer_wrapper.sh')]
    killer_logs = []

    def spawn_worker():
        log = os.path.join(WORK, 'killer-worker%d.log' % len(killer_logs))
        killer_logs.append(log)
        p = subprocess.Popen(worker_args, env=env, stdout=subprocess.DEVNULL, stderr=open(log, 'w'))
        processes.append(p)
        return p

    pool = [spawn_worker(), spawn_worker()]
    check(wait_for(lambda: all('serving chip' in text(l) for l in killer_logs), 20), 'workers under the killer wrapper start')
    killer_db = os.path.join(WORK, 'killer.db')
    coordinator = start([KILN, 'tune', model, '--db', killer_db, '--farm', url, '--budget', '20',
                         '--min-share', '25', '--threads', '1', '--min-time', '100',
                         '--work', os.path.join(WORK, 'killer')], os.path.join(WORK, 'killer-coordinator.log'))
    deaths = 0
    deadline = time.time() + 300
    while coordinator.poll() is None and time.time() < deadline:  # a supervisor: dead workers restart
        for i, p in enumerate(pool):
            if p.poll() is not None:
                deaths += 1
                pool[i] = spawn_worker()
        time.sleep(0.2)
    check(coordinator.returncode == 0, 'the coordinator finishes while workers die (exit %s)' % coordinator.returncode)
    dropped = [r for r in rows(killer_db) if r[2] == 'crashed']
    killer_job = (text(state).split() + ['', '', ''])[2]
    deliveries = sum(text(l).count('measuring ' + killer_job) for l in killer_logs) if killer_job else 0
    check(deaths == 2 and deliveries == 2,
          'the killing job was delivered twice (--max-deliver 2) and took down %d workers' % deaths)
    message = sqlite3.connect(killer_db).execute(
        "SELECT message FROM measurements WHERE status = 'crashed'").fetchall()
    check(len(dropped) == 1 and 'maximum deliveries' in message[0][0],
          'it is recorded once, as crashed: dropped after its maximum deliveries')
    check(sum(r[2] == 'ok' for r in rows(killer_db)) >= 2, 'the other candidates were measured')
finally:
    for p in processes:
        if p.poll() is None:
            p.kill()
            p.wait()

print('%d failure(s)' % len(failures))
sys.exit(1 if failures else 0)
