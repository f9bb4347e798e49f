#!/usr/bin/env bash
# The `make run` demo: daemon on its embedded defaults, one SCS over mutual
# TLS, then a graceful stop. Everything runs on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
log=$(mktemp -t mtciwf-demo.XXXXXX.log)
echo "== starting mtciwf (embedded defaults, Tsp on 127.0.0.1:3868); log: $log"
MTCIWF_LOG_FORMAT=console ./bin/mtciwf serve >"$log" 2>&1 &
pid=$!
cleanup() { kill -TERM "$pid" 2>/dev/null || true; }
trap cleanup EXIT
# The SCS retries (bounded, 10 s) while the daemon starts.
if ! ./bin/scs connect --wait 10s; then
  echo "== the SCS failed; daemon log:"; cat "$log"; exit 1
fi
echo "== stopping mtciwf with SIGTERM (DPR to every peer, drain, exit 0)"
kill -TERM "$pid"
status=0
wait "$pid" || status=$?
trap - EXIT
echo "== daemon log:"
cat "$log"
echo "== mtciwf exited with status $status"
exit "$status"
