#!/usr/bin/env bash
# A load run of the local host with wrk: `POST /v1/public/{slug}/appointments` (random times,
# new clients; it fills the calendar) and then `GET /v1/public/{slug}/availability` (a week of
# one service over that calendar), each for DURATION with CONNECTIONS connections — and, in the
# same run with the same wrk settings, `GET /hello` on the hello-world server (bench/hello,
# `hello_http`: the local host's axum features, tracing and middleware shape, and no work), the
# baseline. Prints wrk's report of each run (req/s, p50/p95/p99, statuses) and then a summary
# table with each route's ratios to hello.
#
#   scripts/load.sh [DURATION (default 20s)] [CONNECTIONS (default 16)]
#
# LOAD_NO_BUILD=1 uses the binaries already in the target directory. The local host runs with
# MAS_LIMITS=load-test (its abuse limits out of reach; each booking still takes its buckets), so
# the run measures the booking transaction, not the 429 path.
#
# Builds the `local` binary (package mas-local) and `hello_http` (package mas-hello) in release
# (target dir RELEASE_TARGET_DIR, default ~/.cache/mas/release-target), starts the local host on
# a fresh SQLite data dir with the demo clinic and the hello server beside it, and installs wrk
# with apt-get when it is missing. Servers and load share this machine's cores, so the figures
# are a floor, not a ceiling.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

DURATION=${1:-20s}
CONNECTIONS=${2:-16}
# Where the two servers come from (edit when packages move).
LOCAL_PACKAGE=mas-local
LOCAL_BIN=local
HELLO_PACKAGE=mas-hello
HELLO_BIN=hello_http
export CARGO_TARGET_DIR="${RELEASE_TARGET_DIR:-$HOME/.cache/mas/release-target}"

if ! command -v wrk >/dev/null; then
  echo "installing wrk (Debian package)"
  apt-get install -y wrk >/dev/null
fi
if [[ ${LOAD_NO_BUILD:-0} != 1 ]]; then
  cargo build --release --locked -p "$LOCAL_PACKAGE" --bin "$LOCAL_BIN" -p "$HELLO_PACKAGE" --bin "$HELLO_BIN"
fi

DATA=$(mktemp -d "${TMPDIR:-/tmp}/mas-load.XXXXXX")
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
PORT=$(free_port)
HELLO_PORT=$(free_port)
BASE="http://127.0.0.1:$PORT"
HELLO="http://127.0.0.1:$HELLO_PORT"
MAS_LIMITS=load-test MAS_DATA_DIR="$DATA" MAS_ADDR="127.0.0.1:$PORT" RUST_LOG="${RUST_LOG:-warn}" \
  "$CARGO_TARGET_DIR/release/$LOCAL_BIN" >"$DATA/local.log" 2>&1 &
SERVER=$!
MAS_ADDR="127.0.0.1:$HELLO_PORT" RUST_LOG="${RUST_LOG:-warn}" \
  "$CARGO_TARGET_DIR/release/$HELLO_BIN" >"$DATA/hello.log" 2>&1 &
HELLO_SERVER=$!
trap 'kill $SERVER $HELLO_SERVER 2>/dev/null || true; wait $SERVER $HELLO_SERVER 2>/dev/null || true; rm -rf "$DATA"' EXIT
for _ in $(seq 100); do
  curl -fsS "$BASE/health" >/dev/null 2>&1 && curl -fsS "$HELLO/hello" >/dev/null 2>&1 && break
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

# run NAME TITLE SCRIPT URL: one wrk run, its report shown and kept for the summary.
run() {
  echo "== $2: $DURATION, $CONNECTIONS connections"
  wrk -t2 -c"$CONNECTIONS" -d"$DURATION" -s "scripts/load/$3" "$4" | tee "$DATA/$1.out"
  echo
}
run hello "GET /hello (hello-world server, the baseline)" hello.lua "$HELLO"
run book "POST public bookings (random times over four weeks)" book.lua "$BASE"
run availability "GET availability (a week, one service)" availability.lua "$BASE"
echo "== afterwards: one more availability read still answers"
curl -fsS -o /dev/null -w "%{http_code} in %{time_total}s\n" \
  "$BASE/v1/public/$SLUG/availability?location_id=$LOCATION_ID&service_id=$SERVICE_ID&from=$FIRST_DAY&to=$FIRST_DAY"

echo
echo "== summary ($DURATION, $CONNECTIONS connections each; ratios to GET /hello)"
python3 - "$DATA" <<'EOF'
import sys
from pathlib import Path

data = Path(sys.argv[1])
runs = [("hello", "`GET /hello` (hello-world)"), ("book", "`POST` public booking"),
        ("availability", "`GET` availability (a week)")]
results = {}
for name, _ in runs:
    text = (data / f"{name}.out").read_text()
    line = next(l for l in text.splitlines() if l.startswith("summary "))
    rps, p50, p95, p99, errors = (float(v) for v in line.split()[1:])
    statuses = ", ".join(f"{int(l.split()[2]):,} × {l.split()[1]}" for l in text.splitlines() if l.startswith("status "))
    results[name] = dict(rps=rps, p50=p50, p95=p95, p99=p99, errors=int(errors), statuses=statuses)
hello = results["hello"]
print("| run | req/s | p50 | p95 | p99 | req/s ÷ hello | p50 × hello | p99 × hello | statuses |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---|")
for name, title in runs:
    r = results[name]
    errors = f"; {r['errors']} socket errors" if r["errors"] else ""
    print(f"| {title} | {r['rps']:,.0f} | {r['p50']:.2f} ms | {r['p95']:.2f} ms | {r['p99']:.2f} ms "
          f"| {r['rps'] / hello['rps']:.3f} | {r['p50'] / hello['p50']:.1f} | {r['p99'] / hello['p99']:.1f} "
          f"| {r['statuses']}{errors} |")
EOF
