#!/usr/bin/env bash
# Installs the Debian packages ferry needs, only those that are missing. Idempotent and quiet when
# everything is present. Uses sudo only when not already root.
set -euo pipefail
pkgs=(build-essential pkg-config clang libclang-rt-14-dev clang-format
      libwebsockets-dev libcurl4-openssl-dev libsecp256k1-dev libb2-dev libcjson-dev check
      libsodium-dev libxxhash-dev libsqlite3-dev libprotobuf-c-dev protobuf-c-compiler libssl-dev
      nodejs npm python3)
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# nodejs may come from another source than Debian (then npm is bundled with it).
if command -v node >/dev/null && command -v npm >/dev/null; then
    keep=(); for p in "${missing[@]}"; do [[ $p == nodejs || $p == npm ]] || keep+=("$p"); done
    missing=("${keep[@]+"${keep[@]}"}")
fi
[ ${#missing[@]} -eq 0 ] && exit 0
echo "deps: installing ${missing[*]}"
SUDO=; [ "$(id -u)" -eq 0 ] || SUDO=sudo
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "deps: done"
