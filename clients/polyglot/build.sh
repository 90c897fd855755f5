#!/usr/bin/env bash
# Builds the Go and Java example clients of clients/polyglot/ with Debian's packages, offline:
# generates Go and Java code from protos/voicesvc/v1 with Debian's protoc and plugins, then compiles
# clients/polyglot/go/main.go (GOPATH mode against /usr/share/gocode) and
# clients/polyglot/java/DialSpeakHangup.java (against the jars in /usr/share/java).
#
#   bash clients/polyglot/build.sh                   (`make polyglot` runs it, then run.sh)
#   bash clients/polyglot/build.sh --packages-only   (only make sure the Debian packages are there)
#
# Needs build/third_party/google/api/*.proto first (`.venv/bin/python tools/gen_stubs.py
# --third-party build/third_party`, as `make lint` does). Missing Debian packages are installed
# with apt-get when running as root; otherwise the script names them and exits 1.
# Output goes to build/polyglot/; unchanged inputs are not generated or compiled again.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."   # the repository root

OUT=build/polyglot
THIRD_PARTY=build/third_party

# Every Debian package the build and run need (the one list).
PACKAGES=(
  protobuf-compiler                     # protoc 3.21
  libprotobuf-dev                       # google/protobuf/*.proto (well-known types) for protoc
  golang-go                             # Go 1.19
  protoc-gen-go                         # protoc-gen-go 1.28
  protoc-gen-go-grpc                    # protoc-gen-go-grpc (grpc-go 1.33)
  golang-google-protobuf-dev            # google.golang.org/protobuf 1.28
  golang-google-grpc-dev                # google.golang.org/grpc 1.33
  golang-google-genproto-dev            # google.golang.org/genproto (google/api, google/rpc types)
  # grpc-go and genproto accept github.com/golang/protobuf 1.3 or 1.5, and apt picks 1.3, whose
  # own marshaler cannot encode code from protoc-gen-go 1.28 (it panics on a oneof). 1.5 is
  # built on google.golang.org/protobuf; installing it replaces 1.3.
  golang-github-golang-protobuf-1-5-dev
  openjdk-17-jdk-headless               # javac, java
  protobuf-compiler-grpc-java-plugin    # grpc_java_plugin 1.41 (protoc-gen-grpc-java)
  libprotobuf-java                      # protobuf-java 3.21
  libgrpc-java                          # grpc-api, -core, -stub, -protobuf, -netty 1.41
  libnetty-java                         # Netty 4.1, the transport of grpc-netty
  libperfmark-java                      # perfmark-api, used by grpc-core and grpc-netty
  libgoogle-gson-java                   # gson, used by grpc-core
  libguava-java                         # guava, used by grpc-java
  libgoogle-common-protos-java          # proto-google-common-protos 1.16: com.google.rpc.Status, BadRequest
  libgeronimo-annotation-1.3-spec-java  # javax.annotation.Generated, on grpc-java's generated stubs
)

# The jars of /usr/share/java the Java client is compiled and run with.
JARS=(
  protobuf grpc-api grpc-context grpc-core grpc-stub grpc-protobuf grpc-protobuf-lite grpc-netty
  netty-buffer netty-codec netty-codec-http netty-codec-http2 netty-codec-socks netty-common
  netty-handler netty-handler-proxy netty-resolver netty-transport
  perfmark-api gson guava proto-google-common-protos geronimo-annotation-1.3-spec
)

say() { printf 'polyglot: %s\n' "$*"; }
run() { printf '+ %s\n' "$*"; "$@"; }

# --- 1. Debian packages -------------------------------------------------------------------------
missing=()
for pkg in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null || true)
  [[ $status == ii* ]] || missing+=("$pkg")
done
if ((${#missing[@]})); then
  if [[ $(id -u) != 0 ]]; then
    say "missing Debian packages: ${missing[*]}"
    say "install them with: sudo apt-get install --no-install-recommends ${missing[*]}"
    exit 1
  fi
  say "installing Debian packages: ${missing[*]}"
  started=$SECONDS
  export DEBIAN_FRONTEND=noninteractive
  if ! { timeout 600 apt-get update -qq &&
         timeout 900 apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; }; then
    say "apt-get could not install: ${missing[*]}"
    exit 3
  fi
  say "apt-get install took $((SECONDS - started))s"
else
  say "Debian packages present (${#PACKAGES[@]})"
fi
[[ ${1:-} == --packages-only ]] && exit 0

classpath=""
for jar in "${JARS[@]}"; do
  if [[ ! -f /usr/share/java/$jar.jar ]]; then
    say "/usr/share/java/$jar.jar not found (expected from the packages above)"
    exit 1
  fi
  classpath+="${classpath:+:}/usr/share/java/$jar.jar"
done

if [[ ! -f $THIRD_PARTY/google/api/annotations.proto ]]; then
  say "$THIRD_PARTY/google/api is missing; run: .venv/bin/python tools/gen_stubs.py --third-party $THIRD_PARTY"
  exit 1
fi

mkdir -p "$OUT/bin"

# --- 2. Generate ---------------------------------------------------------------------------------
# Regenerated when the protos, the tool versions or this script change (build/third_party is
# rewritten by every gen_stubs run, so contents are compared, not times).
protos=(protos/voicesvc/v1/*.proto)
gen_key=$(
  {
    cat "${protos[@]}" "$THIRD_PARTY"/google/api/*.proto "${BASH_SOURCE[0]}"
    dpkg-query -W "${PACKAGES[@]}"
  } | sha256sum | cut -d' ' -f1
)
if [[ $(cat "$OUT/.generated" 2>/dev/null) != "$gen_key" ]]; then
  started=$SECONDS
  rm -rf "$OUT/go/src" "$OUT/java/src" "$OUT/.generated" "$OUT/.compiled-java"
  mkdir -p "$OUT/go/src" "$OUT/java/src"
  # Go: the files land under their go_package import path
  # (github.com/voicesvc/voicesvc/gen/go/voicesvc/v1), i.e. inside the GOPATH $OUT/go. The
  # google/api imports resolve to Debian's google.golang.org/genproto, so they are not generated.
  run protoc -I protos -I "$THIRD_PARTY" \
    --go_out="$OUT/go/src" --go-grpc_out="$OUT/go/src" \
    "${protos[@]}"
  # Java: the contract in its java_package (com.voicesvc.v1) with the grpc-java stubs...
  run protoc -I protos -I "$THIRD_PARTY" \
    --java_out="$OUT/java/src" \
    --plugin=protoc-gen-grpc-java=/usr/bin/grpc_java_plugin --grpc-java_out="$OUT/java/src" \
    "${protos[@]}"
  # ...and the google.api classes it imports, from the same googleapis protos.
  run protoc -I "$THIRD_PARTY" --java_out="$OUT/java/src" "$THIRD_PARTY"/google/api/*.proto
  echo "$gen_key" >"$OUT/.generated"
  say "generated Go and Java code in $((SECONDS - started))s"
else
  say "generated code is up to date"
fi

# --- 3. Compile ----------------------------------------------------------------------------------
# Go in GOPATH mode: the generated package in $OUT/go, everything else from Debian's
# /usr/share/gocode. No module download can happen (GO111MODULE=off, GOPROXY=off). Go's build
# cache makes an unchanged rebuild quick.
started=$SECONDS
run env GO111MODULE=off GOPROXY=off GOFLAGS= GOPATH="$PWD/$OUT/go:/usr/share/gocode" GOCACHE="$PWD/$OUT/go/cache" \
  go build -o "$OUT/bin/dial-speak-hangup-go" ./clients/polyglot/go
say "go build took $((SECONDS - started))s"

java_key=$(
  {
    cat "$OUT/.generated" clients/polyglot/java/DialSpeakHangup.java
    echo "$classpath"
  } | sha256sum | cut -d' ' -f1
)
if [[ $(cat "$OUT/.compiled-java" 2>/dev/null) != "$java_key" ]]; then
  started=$SECONDS
  rm -rf "$OUT/java/classes"
  mkdir -p "$OUT/java/classes"
  find "$OUT/java/src" -name '*.java' >"$OUT/java/sources.txt"
  echo "$PWD/clients/polyglot/java/DialSpeakHangup.java" >>"$OUT/java/sources.txt"
  run javac -nowarn -encoding UTF-8 -d "$OUT/java/classes" -cp "$classpath" "@$OUT/java/sources.txt"
  # run.sh starts the client with: java -cp "$OUT/java/classes:$(cat $OUT/java/classpath)" DialSpeakHangup
  echo "$classpath" >"$OUT/java/classpath"
  echo "$java_key" >"$OUT/.compiled-java"
  say "javac took $((SECONDS - started))s ($(wc -l <"$OUT/java/sources.txt") files)"
else
  say "Java classes are up to date"
fi
