#!/bin/sh
# Provisions the lab's control plane: `pontoon api` (with the scheduler) as a systemd
# unit, listening on loopback and on the underlay address, with the lab's token.
. "${PONTOON_SRC:-/vagrant}/scripts/vagrant/provision-common.sh"
API_PORT=${API_PORT:-6443}

apt_install openssl curl ca-certificates iproute2
IP=$(underlay_ip)
[ -n "$IP" ] || die EUNDERLAY "no address in $UNDERLAY_CIDR on any interface (ip -4 addr): is the private network up?"
log "control plane on $IP (underlay $UNDERLAY_CIDR)"

# The API keeps its token in its data dir: written before the first start, so the
# workers, which got the same token from the Vagrantfile, are accepted.
mkdir -p "$STATE/api"
chmod 0700 "$STATE/api"
(umask 077 && printf '%s\n' "$PONTOON_TOKEN" > "$STATE/api/.token.new" && mv "$STATE/api/.token.new" "$STATE/api/token")

pontoon_install --unit api --api-arg=--data-dir="$STATE/api" \
  --api-arg=--listen=127.0.0.1:"$API_PORT" --api-arg=--listen="$IP:$API_PORT" \
  --api-arg=--cluster-cidr="$CLUSTER_CIDR" --api-arg=--scheduler

if [ "$SYSTEMD" = 1 ]; then
  wait_until 120 "pontoon api on 127.0.0.1:$API_PORT" \
    curl -sfk -H "Authorization: Bearer $PONTOON_TOKEN" "https://127.0.0.1:$API_PORT/readyz"
  log "pontoon api is ready; kubeconfig for the host: $STATE/api/kubeconfig-$IP"
fi
