#!/usr/bin/env bash
# Checks the Tsp wire format against software nobody here wrote (not part of
# make test: it needs Debian packages). Installs tshark and freediameterd when
# missing (apt-get, as root), then:
#  1. captures `scs connect` against the daemon on loopback, decrypts it with
#     the client's TLS key log and lets tshark decode every Diameter message,
#     failing on any malformed packet or expert warning;
#  2. connects freeDiameter 1.2.1 as an SCS (relay-only CER) over TLS and
#     checks it reaches STATE_OPEN and that its DPR is answered.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v tshark >/dev/null || ! command -v freeDiameterd >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tshark freediameterd >/dev/null
fi
make -s build pki >/dev/null
work=$(mktemp -d)
cleanup() { pkill -TERM -f "$work/mtciwf serve" 2>/dev/null || true; kill "${tspid:-0}" 2>/dev/null || true; }
trap cleanup EXIT
cp bin/mtciwf "$work/mtciwf"

echo "== 1. tshark decode of CER/CEA, DWR/DWA, DPR/DPA over TLS"
tshark -i lo -f "tcp port 3868" -w "$work/cap.pcap" >/dev/null 2>&1 & tspid=$!
sleep 2
"$work/mtciwf" serve >"$work/daemon.log" 2>&1 &
bin/scs connect --keylog "$work/keys.log" >/dev/null
sleep 1; kill -INT "$tspid"; wait "$tspid" 2>/dev/null || true
pkill -TERM -f "$work/mtciwf serve"; sleep 1
decode=(tshark -r "$work/cap.pcap" --disable-protocol rdpmt -o "tls.keylog_file:$work/keys.log" -d tcp.port==3868,tls -d tls.port==3868,diameter)
"${decode[@]}" -T fields -e _ws.col.Info -Y diameter 2>/dev/null
n=$("${decode[@]}" -Y diameter 2>/dev/null | wc -l)
bad=$("${decode[@]}" -Y "diameter && (_ws.malformed || _ws.expert.severity >= warning)" 2>/dev/null | wc -l)
echo "   $n Diameter messages decoded, $bad malformed or with warnings"
[ "$n" -ge 6 ] && [ "$bad" -eq 0 ]

echo "== 2. freeDiameter as an SCS over TLS"
cat >"$work/fd.conf" <<CONF
Identity = "scs1.scs.example";
Realm = "scs.example";
Port = 30868; SecPort = 30869; No_SCTP;
TLS_Cred = "$PWD/dev/pki/scs1.pem", "$PWD/dev/pki/scs1-key.pem";
TLS_CA = "$PWD/dev/pki/ca.pem";
ConnectPeer = "mtciwf.operator.example" { ConnectTo = "127.0.0.1"; port = 3868; No_SCTP; };
CONF
"$work/mtciwf" serve >"$work/daemon2.log" 2>&1 &
sleep 1
timeout 8 freeDiameterd -c "$work/fd.conf" >"$work/fd.log" 2>&1 || true
pkill -TERM -f "$work/mtciwf serve"; sleep 1
grep -q "'STATE_WAITCEA'.*'STATE_OPEN'" "$work/fd.log" && echo "   freeDiameter reached STATE_OPEN"
grep -q '"DPR received"' "$work/daemon2.log" && echo "   its DPR was answered"
echo "== interop OK"
