#!/usr/bin/env bash
# Runs the Go and Java example clients (built by build.sh into build/polyglot/) end to end against
# a voicesvc started here on free loopback ports, on its embedded Telnyx sandbox.
#
#   bash clients/polyglot/run.sh          (`make polyglot` builds, then runs this)
#
# Exits 0 when both clients succeeded, 1 when either failed or the server did not come up. The
# server is stopped on exit; its log is build/polyglot/voicesvc.log.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."   # the repository root

OUT=build/polyglot
VOICESVC=.venv/bin/voicesvc
PYTHON=.venv/bin/python
GO_CLIENT=$OUT/bin/dial-speak-hangup-go
LOG=$OUT/voicesvc.log

say() { printf 'polyglot: %s\n' "$*"; }

for f in "$VOICESVC" "$GO_CLIENT" "$OUT/java/classes/DialSpeakHangup.class" "$OUT/java/classpath"; do
  if [[ ! -e $f ]]; then
    say "$f is missing; run \`make polyglot\` (or clients/polyglot/build.sh after \`make\`'s venv exists)"
    exit 1
  fi
done

# Two distinct free ports: both sockets are held open until both numbers are known.
read -r GRPC_PORT HTTP_PORT < <(
  "$PYTHON" -c '
import socket
socks = [socket.socket() for _ in range(2)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in socks))
for s in socks:
    s.close()
'
)
if [[ -z ${HTTP_PORT:-} ]]; then
  say "could not pick free ports with $PYTHON"
  exit 1
fi
ADDR=127.0.0.1:$GRPC_PORT

server_pid=""
stop_server() {
  if [[ -n $server_pid ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
}
trap stop_server EXIT

# No API key (and no auth or TLS settings from the caller's environment): the embedded sandbox
# stands in for Telnyx, so nothing leaves the machine.
mkdir -p "$OUT"
started=$(date +%s%N)
env -u TELNYX_API_KEY -u VOICESVC_AUTH_TOKENS -u VOICESVC_TLS_CERT -u VOICESVC_TLS_KEY \
  -u VOICESVC_TLS_CLIENT_CA \
  "$VOICESVC" serve --grpc-listen "$ADDR" --http-listen "127.0.0.1:$HTTP_PORT" >"$LOG" 2>&1 &
server_pid=$!

# Wait until the gRPC port accepts connections (bash's /dev/tcp), at most 30 s.
for ((i = 0; ; i++)); do
  if ! kill -0 "$server_pid" 2>/dev/null; then
    say "voicesvc exited during startup; its log:"
    cat "$LOG"
    exit 1
  fi
  if (exec 3<>"/dev/tcp/127.0.0.1/$GRPC_PORT") 2>/dev/null; then
    break
  fi
  if ((i >= 300)); then
    say "voicesvc did not accept connections on $ADDR within 30s; its log:"
    cat "$LOG"
    exit 1
  fi
  sleep 0.1
done
say "voicesvc is serving gRPC on $ADDR ($(( ($(date +%s%N) - started) / 1000000 )) ms)"

# Runs one client; prints its output and timing, returns its exit status.
run_client() {
  local name=$1
  shift
  local t0 rc=0
  t0=$(date +%s%N)
  echo "== $name"
  "$@" || rc=$?
  echo "== $name: exit $rc ($(( ($(date +%s%N) - t0) / 1000000 )) ms)"
  return "$rc"
}

go_rc=0
java_rc=0
run_client "Go (clients/polyglot/go/main.go)" "$GO_CLIENT" "$ADDR" || go_rc=$?
run_client "Java (clients/polyglot/java/DialSpeakHangup.java)" \
  java -cp "$OUT/java/classes:$(cat "$OUT/java/classpath")" DialSpeakHangup "$ADDR" || java_rc=$?

if ((go_rc != 0 || java_rc != 0)); then
  say "FAILED (go exit $go_rc, java exit $java_rc); server log: $LOG"
  exit 1
fi
say "Go and Java clients passed"
