#!/usr/bin/env bash
# The `make run` demo: coresim (HSS + SMS-SC), the daemon on its embedded
# defaults with its store in a temporary directory, one SCS over mutual TLS
# sending a real device trigger and waiting for its delivery report, then a
# graceful stop of everything. Everything runs on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d -t mtciwf-demo.XXXXXX)
step() { printf '\n== %s\n' "$*"; }
pids=()
cleanup() { for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

step "starting coresim: HSS (S6m) on 127.0.0.1:3870, SMS-SC (T4) on 127.0.0.1:3871, subscribers from configs/subscribers.yaml"
./bin/coresim --subscribers configs/subscribers.yaml --delivery-delay 300ms >"$work/coresim.log" 2>&1 &
pids+=($!)

step "starting mtciwf (embedded defaults: Tsp on 127.0.0.1:3868, store in $work/data)"
MTCIWF_DATA_DIR="$work/data" MTCIWF_LOG_FORMAT=console ./bin/mtciwf serve >"$work/mtciwf.log" 2>&1 &
mtciwf=$!
pids+=($mtciwf)

step "SCS scs1.scs.example: mutual TLS, CER/CEA, DWR/DWA"
./bin/scs connect --wait 10s | grep -E '^==|Result-Code|Auth-Application-Id' || { cat "$work/mtciwf.log"; exit 1; }

step "SCS scs1.scs.example: device trigger to meter-1@iot.example.com (port 9000, payload \"wake-up\")"
sleep 0.5 # the daemon dials the HSS and SMS-SC at start
status=0
./bin/scs trigger --external-id meter-1@iot.example.com --payload wake-up --port 9000 --validity 10m || status=$?

step "stopping mtciwf (SIGTERM: DPR to every peer, drain, exit 0) and coresim"
kill -TERM "$mtciwf"; wait "$mtciwf" || status=$?
cleanup; wait || true
trap - EXIT
step "mtciwf log (one line per transaction, identities masked)"
grep -E 'device action|delivery report|core peer up|Tsp listening|stopped' "$work/mtciwf.log" | cut -c1-220
step "coresim log"
grep -E 'SIR|DTR|DRR' "$work/coresim.log" | cut -c1-200 | head -10
echo
[ "$status" -eq 0 ] && echo "== demo OK: trigger accepted and its delivery report received" || echo "== demo FAILED (status $status); logs in $work"
exit "$status"
