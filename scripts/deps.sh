#!/bin/sh
# Install the Debian packages eventlet-lua needs, when they are missing.
# Runs apt-get as root, through sudo otherwise, and says what to run when
# neither is possible.  --bench adds the peers that `make bench` measures.
set -eu

CORE="lua5.4 liblua5.4-dev libev-dev libssl-dev node-llhttp lua-cjson
lua-busted lua-check luarocks cppcheck curl openssl zlib1g-dev pkg-config make gcc
clang-14 libclang-rt-14-dev
nginx
socat libedit-dev tmux procps"
BENCH="python3-eventlet python3-gevent lua5.1 lua-copas lua-http lua-socket nginx
libnginx-mod-http-lua wrk valgrind iproute2"

pkgs=$CORE
[ "${1:-}" = "--bench" ] && pkgs=$BENCH

missing=""
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
    missing="$missing $p"
done
[ -z "$missing" ] && exit 0

echo "deps: installing:$missing"
if [ "$(id -u)" = 0 ]; then
  SUDO=""
elif command -v sudo >/dev/null 2>&1; then
  SUDO="sudo"
else
  echo "deps: not root and no sudo; run as root:" >&2
  echo "  apt-get update && apt-get install -y$missing" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# A stale package list is the usual reason an install fails: refresh once.
$SUDO apt-get install -y --no-install-recommends $missing >/dev/null 2>&1 || {
  $SUDO apt-get update -qq
  $SUDO apt-get install -y --no-install-recommends $missing
}
