# Sourced by provision-control.sh and provision-worker.sh (not run on its own).
#
# Environment (the Vagrantfile sets the first ones):
#   UNDERLAY_CIDR    the lab's private network; the interface with an address in it is the underlay
#   PONTOON_TOKEN    the lab's bearer token
#   PONTOON_SRC      the repository (default /vagrant, the synced folder); dist/ is installed from it
#   PONTOON_ROOT     every path written lives under this dir (default: none, the real /);
#                    the test on namespace "VMs" gives each one a temp root
#   PONTOON_SYSTEMD  1 (default): start the units with systemctl. 0: write them and stop there;
#                    whoever runs the script starts what the units' ExecStart lines say
#   PONTOON_APT      1 (default): apt-get install what is missing. 0: assume it is there
set -eu

ROOT=${PONTOON_ROOT:-}
SRC=${PONTOON_SRC:-/vagrant}
SYSTEMD=${PONTOON_SYSTEMD:-1}
DIST=$SRC/dist
CNI_BIN=$ROOT/opt/cni/bin
CNI_CONF=$ROOT/etc/cni/net.d
PREFIX=$ROOT/usr/local
UNIT_DIR=$ROOT/etc/systemd/system
STATE=$ROOT/var/lib/pontoon
ETC=$ROOT/etc/pontoon
CLUSTER_CIDR=10.244.0.0/16

log() { echo "provision: $*" >&2; }
die() { echo "provision: $1: $2" >&2; exit 1; }

[ -n "${UNDERLAY_CIDR:-}" ] || die EPROVISION "UNDERLAY_CIDR is not set (the Vagrantfile sets it, e.g. 192.168.56.0/21)"
[ -n "${PONTOON_TOKEN:-}" ] || die EPROVISION "PONTOON_TOKEN is not set (the Vagrantfile makes one in .vagrant/pontoon-token)"
case $PONTOON_TOKEN in *[!A-Za-z0-9]*) die EPROVISION "PONTOON_TOKEN must be letters and digits only" ;; esac
case $SYSTEMD in 0|1) ;; *) die EPROVISION "PONTOON_SYSTEMD=$SYSTEMD: 0 or 1" ;; esac
[ -x "$DIST/bin/pontoon" ] || die EPROVISION "$DIST/bin/pontoon is missing: run \`npm run build\` on the host before \`vagrant up\` (or \`vagrant rsync\` after it)"

apt_install() {
  [ "${PONTOON_APT:-1}" = 1 ] || return 0
  missing=
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
  [ -z "$missing" ] && return 0
  log "apt-get install$missing"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # shellcheck disable=SC2086 # a list of package names
  apt-get install -y -qq --no-install-recommends $missing >/dev/null
}

# The address this VM has in the lab's network: never eth0's NAT 10.0.2.15, whatever the interface is called.
underlay_ip() {
  ip -o -4 addr show to "$UNDERLAY_CIDR" | awk '{ split($4, a, "/"); print a[1]; exit }'
}

# `pontoon install` of this build into the (possibly rooted) system dirs; the units start only under systemd.
pontoon_install() {
  start=
  [ "$SYSTEMD" = 1 ] && start=--start
  "$DIST/bin/pontoon" install --from "$DIST/bin" --cni-bin-dir "$CNI_BIN" --cni-conf-dir "$CNI_CONF" \
    --prefix "$PREFIX" --unit-dir "$UNIT_DIR" --systemd $start "$@"
}

# Poll until "$@" succeeds, at most $1 seconds (libvirt brings the VMs up in parallel).
wait_until() {
  limit=$1 what=$2
  shift 2
  end=$(( $(date +%s) + limit ))
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$end" ] || die ETIMEOUT "$what: not within $limit s"
    sleep 1
  done
}
