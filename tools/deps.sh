#!/bin/sh
# deps.sh — makes sure the Debian packages a make target needs are present.
# Installs them with apt-get when run as root; otherwise prints the exact
# command and fails. Usage: deps.sh build|test|fuzz|cross|vulkan
set -e
case "$1" in
    build) pkgs="make gcc pkg-config libjansson-dev libpcre2-dev libutf8proc-dev libmicrohttpd-dev libcurl4-openssl-dev libssl-dev" ;;
    test)  pkgs="python3 python3-venv chromium" ;; # the server tests: the openai client, the chat page
    fuzz)  pkgs="clang libclang-rt-14-dev" ;;
    cross) pkgs="gcc-aarch64-linux-gnu" ;;
    vulkan) pkgs="libvulkan-dev glslc mesa-vulkan-drivers" ;; # the loader, the shader compiler, lavapipe
    *) echo "usage: deps.sh build|test|fuzz|cross|vulkan" >&2; exit 2 ;;
esac
missing=""
for p in $pkgs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ]; then
    echo "deps: installing$missing" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq $missing >&2
else
    echo "flint needs these Debian packages:$missing" >&2
    echo "install them with:  sudo apt-get install -y$missing" >&2
    exit 1
fi
