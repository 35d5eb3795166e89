#!/usr/bin/env bash
# Installs what litemcp needs on Debian 12 (only what is missing) and
# configures a meson build folder.
#
#   ./setup.sh [BUILD_DIR [MESON_OPTION...]]
#
# BUILD_DIR defaults to "build" (a release build). Extra arguments go to
# `meson setup`, e.g. ./setup.sh build-san -Db_sanitize=address,undefined.
# An existing build folder is reconfigured with the given options.
set -euo pipefail
cd "$(dirname "$0")"

packages=(
  g++ meson ninja-build pkg-config   # toolchain
  librocksdb-dev                      # the index (store/index.cpp)
  libspdlog-dev                       # logs
  libboost1.81-dev libssl-dev         # HTTP/TLS (transport/, Boost.Beast), JSON reading (Boost.JSON), URLs
  nlohmann-json3-dev libvalijson-dev  # JSON and tool-argument validation (server/)
  libgoogle-perftools-dev             # tcmalloc, the server's allocator (meson option 'allocator')
  libnats-dev                         # the JetStream engine's NATS client (store/jetstream/)
  nats-server haproxy                 # the cluster tests: a NATS JetStream cluster and a load balancer in front
  doctest-dev python3 openssl         # unit and integration tests (openssl makes the TLS test's certificate)
  wrk                                 # the HTTP benchmark (test/bench/http_bench.py)
  valgrind                            # instructions a call (test/bench/hop_instructions.py)
  clang-16 libclang-rt-16-dev         # libFuzzer for the fuzz targets (test/fuzz/run.sh; Debian 12's clang 14 cannot compile std::expected)
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node.js runs the official MCP conformance suite and SDK client (npm packages,
# installed into the build folder by test/npm/install.sh); they need Node >= 20.
# The distribution's nodejs is installed only when the machine has no node.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  missing+=(nodejs npm)
fi
if ((${#missing[@]})); then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  echo "setup: installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The conformance suite and the SDK client test need Node.js 20 or newer.
node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
  echo "setup: warning: Node.js $(node --version 2>/dev/null || echo none) is older than 20;" \
       "the conformance and SDK client tests need Node.js 20 or newer" >&2
fi

build_dir="${1:-build}"
shift || true
if [ -f "$build_dir/build.ninja" ]; then
  meson setup --reconfigure "$build_dir" "$@" >/dev/null
else
  meson setup "$build_dir" "$@" >/dev/null
fi
echo "setup: $build_dir is configured ($(meson introspect "$build_dir" --buildoptions | python3 -c 'import json,sys; o={x["name"]:x["value"] for x in json.load(sys.stdin)}; print("buildtype="+o["buildtype"]+", sanitize="+o["b_sanitize"])'))"
