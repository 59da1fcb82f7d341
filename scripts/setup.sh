#!/usr/bin/env bash
# Installs everything pontoon's lab and tests need on Debian 12, then builds.
# Idempotent; run as root.
set -euo pipefail
cd "$(dirname "$0")/.."

pkgs=(iproute2 nftables iptables ipset conntrack containernetworking-plugins containerd runc busybox-static socat kmod gcc libc6-dev curl openssl)
missing=()
for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-fund --no-audit --loglevel=error
fi
npm run --silent build
