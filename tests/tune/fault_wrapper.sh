#!/bin/sh
# fault_wrapper.sh - runs a kiln tune candidate, but makes some of them crash or hang, so the
# tuner's handling of bad candidates is tested (kiln tune --run-wrapper).
# Candidates (not the heuristic baselines) are counted in $KILN_TEST_FAULT_COUNTER: the 2nd
# kills itself with SIGSEGV, the 4th hangs until the tuner's timeout kills it.
case "$1" in
  */candidate/kernel)
    n=$(( $(cat "$KILN_TEST_FAULT_COUNTER" 2>/dev/null || echo 0) + 1 ))
    echo "$n" > "$KILN_TEST_FAULT_COUNTER"
    if [ "$n" -eq 2 ]; then kill -SEGV $$; fi
    if [ "$n" -eq 4 ]; then exec sleep 1000; fi
    ;;
esac
exec "$@"
