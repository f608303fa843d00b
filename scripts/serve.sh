#!/usr/bin/env bash
# `make serve`: the lookup server on the embedded default, with an HLR simulator
# behind it so that real-time lookups (account demo-rt / demo) work out of the box.
# NUMLOOKUP_REALTIME_PEERS set by the caller replaces the simulator.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.venv/bin}
mkdir -p var

if [[ -z ${NUMLOOKUP_REALTIME_PEERS:-} ]]; then
  HLR_LISTEN=${HLR_SIM_LISTEN:-127.0.0.1:2905}
  coproc HLR { exec "$BIN/numlookup" hlr-sim --listen "$HLR_LISTEN" 2>>var/hlr-sim.log; }
  HLR_SIM_PID=$HLR_PID
  trap 'kill "$HLR_SIM_PID" 2>/dev/null || true; wait "$HLR_SIM_PID" 2>/dev/null || true' EXIT
  if ! read -r -t 30 line <&"${HLR[0]}" || [[ $line != "hlr-sim listening"* ]]; then
    echo "serve: the HLR simulator did not start (see var/hlr-sim.log)" >&2
    exit 1
  fi
  echo "serve: $line (log in var/hlr-sim.log)" >&2
  export NUMLOOKUP_REALTIME_PEERS="m3ua-tcp://${line##*m3ua-tcp=}"
fi
"$BIN/numlookup" serve "$@"
