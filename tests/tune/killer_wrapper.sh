#!/bin/sh
# killer_wrapper.sh - kiln-worker --run-wrapper for the farm test: the third distinct job to
# reach it (a candidate: the first are the heuristic plans' baselines) kills the worker that
# runs it (SIGKILL to the parent) on every delivery, as a candidate that takes its machine
# down would. Other runs go through unchanged. $KILN_TEST_KILLER_STATE lists the job ids
# seen, one per line; the third line is the killer.
case "$1" in
  */kernel)
    job=$(basename "$(dirname "$1")")
    state=$KILN_TEST_KILLER_STATE
    if [ -n "$state" ]; then
      grep -qx "$job" "$state" 2>/dev/null || echo "$job" >> "$state"
      if [ "$(sed -n 3p "$state")" = "$job" ]; then kill -9 $PPID; exit 1; fi
    fi
    ;;
esac
exec "$@"
