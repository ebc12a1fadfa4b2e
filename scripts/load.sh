#!/usr/bin/env bash
# A load run of the local host with wrk: `POST /v1/public/{slug}/appointments` (random times,
# new clients; it fills the calendar) and then `GET /v1/public/{slug}/availability` (a week of
# one service over that calendar), each for
# DURATION with CONNECTIONS connections, reporting req/s, p50/p95/p99 and the statuses.
#
#   scripts/load.sh [DURATION (default 20s)] [CONNECTIONS (default 16)]
#
# Builds the `local` binary in release (target dir RELEASE_TARGET_DIR, default
# ~/.cache/mas/release-target), starts it on a fresh SQLite data dir with the demo clinic, and
# installs wrk with apt-get when it is missing. Server and load share this machine's cores, so
# the figures are a floor, not a ceiling.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

DURATION=${1:-20s}
CONNECTIONS=${2:-16}
export CARGO_TARGET_DIR="${RELEASE_TARGET_DIR:-$HOME/.cache/mas/release-target}"

if ! command -v wrk >/dev/null; then
  echo "installing wrk (Debian package)"
  apt-get install -y wrk >/dev/null
fi
cargo build --release --locked -p mas-functions --bin local

DATA=$(mktemp -d "${TMPDIR:-/tmp}/mas-load.XXXXXX")
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
BASE="http://127.0.0.1:$PORT"
MAS_DATA_DIR="$DATA" MAS_ADDR="127.0.0.1:$PORT" RUST_LOG="${RUST_LOG:-warn}" \
  "$CARGO_TARGET_DIR/release/local" >"$DATA/local.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true; wait $SERVER 2>/dev/null || true; rm -rf "$DATA"' EXIT
for _ in $(seq 100); do
  curl -fsS "$BASE/health" >/dev/null 2>&1 && break
  sleep 0.1
done

export SLUG=demo-clinic LOAD_DIR="$PWD/scripts/load"
read -r LOCATION_ID SERVICE_ID < <(curl -fsS "$BASE/v1/public/$SLUG/catalog" | python3 -c '
import json, sys
catalog = json.load(sys.stdin)
london = next(l for l in catalog["locations"] if l["timezone"] == "Europe/London")
service = next(s for s in catalog["services"] if s["name"].startswith("Anti-wrinkle"))
print(london["id"], service["id"])')
export LOCATION_ID SERVICE_ID
FIRST_DAY=$(date -u -d tomorrow +%F)
export FIRST_DAY

echo "== POST public bookings (random times over four weeks): $DURATION, $CONNECTIONS connections"
wrk -t2 -c"$CONNECTIONS" -d"$DURATION" -s scripts/load/book.lua "$BASE"
echo
echo "== GET availability (a week, one service): $DURATION, $CONNECTIONS connections"
wrk -t2 -c"$CONNECTIONS" -d"$DURATION" -s scripts/load/availability.lua "$BASE"
echo
echo "== afterwards: one more availability read still answers"
curl -fsS -o /dev/null -w "%{http_code} in %{time_total}s\n" \
  "$BASE/v1/public/$SLUG/availability?location_id=$LOCATION_ID&service_id=$SERVICE_ID&from=$FIRST_DAY&to=$FIRST_DAY"
