#!/bin/sh
# Provisions a lab worker: registers its Node with the control plane's API, writes
# containerd's CNI config, and runs `pontoon agent` (proxy, VXLAN overlay on the
# underlay chosen by CIDR, conflist, resident CNI server) and the lab kubelet as
# systemd units.
. "${PONTOON_SRC:-/vagrant}/scripts/vagrant/provision-common.sh"
NAME=${NODE_NAME:?NODE_NAME is not set}
API=${API_SERVER:?API_SERVER is not set (https://HOST:PORT)}
NETNS_PREFIX=${PONTOON_NETNS_PREFIX:-$NAME}
case $NAME in *[!a-z0-9-]*|-*|'') die EPROVISION "NODE_NAME=$NAME: a DNS label (a-z, 0-9, -)" ;; esac
case $API in https://*) ;; *) die EPROVISION "API_SERVER=$API: https://HOST:PORT" ;; esac
HOSTPORT=${API#https://}

apt_install containerd runc containernetworking-plugins nftables iptables conntrack curl openssl ca-certificates iproute2 socat
IP=$(underlay_ip)
[ -n "$IP" ] || die EUNDERLAY "no address in $UNDERLAY_CIDR on any interface (ip -4 addr): is the private network up?"
log "worker $NAME on $IP (underlay $UNDERLAY_CIDR), API $API"

auth="Authorization: Bearer $PONTOON_TOKEN"
wait_until 600 "the API at $API" curl -sfk -H "$auth" "$API/readyz"

# Pin the API's self-signed certificate on first contact (the lab's private network is
# the only path to it), then prove it: the token must work over a verified connection.
mkdir -p "$ETC"
openssl s_client -connect "$HOSTPORT" -showcerts </dev/null 2>/dev/null |
  sed -n '/-----BEGIN CERTIFICATE-----/,/-----END CERTIFICATE-----/p' > "$ETC/.ca.crt.new"
curl -sf --cacert "$ETC/.ca.crt.new" -H "$auth" "$API/readyz" >/dev/null ||
  die ETLS "the certificate $HOSTPORT presented does not verify its own address, or the token is refused"
mv "$ETC/.ca.crt.new" "$ETC/ca.crt"
ca=$(base64 -w0 < "$ETC/ca.crt")
(umask 077 && cat > "$ETC/.kubeconfig.new" <<KUBECONFIG && mv "$ETC/.kubeconfig.new" "$ETC/kubeconfig")
{"apiVersion":"v1","kind":"Config","current-context":"pontoon",
 "clusters":[{"name":"pontoon","cluster":{"server":"$API","certificate-authority-data":"$ca"}}],
 "users":[{"name":"pontoon","user":{"token":"$PONTOON_TOKEN"}}],
 "contexts":[{"name":"pontoon","context":{"cluster":"pontoon","user":"pontoon","namespace":"default"}}]}
KUBECONFIG

# The Node, with the underlay address as its InternalIP (what the agent, NodePorts and
# the overlay use); creating it again answers 409, which is fine.
api() { curl -s --cacert "$ETC/ca.crt" -H "$auth" -o /dev/null -w '%{http_code}' "$@"; }
code=$(api -X POST -H 'Content-Type: application/json' "$API/api/v1/nodes" \
  -d "{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{\"name\":\"$NAME\",\"labels\":{\"kubernetes.io/hostname\":\"$NAME\",\"kubernetes.io/os\":\"linux\"}}}")
case $code in 201|409) ;; *) die EAPI "creating Node $NAME: HTTP $code" ;; esac
code=$(api -X PATCH -H 'Content-Type: application/merge-patch+json' "$API/api/v1/nodes/$NAME/status" \
  -d "{\"status\":{\"addresses\":[{\"type\":\"InternalIP\",\"address\":\"$IP\"},{\"type\":\"Hostname\",\"address\":\"$NAME\"}]}}")
[ "$code" = 200 ] || die EAPI "setting Node $NAME's addresses: HTTP $code"

# containerd's CRI reads the first conflist in conf_dir, which the agent writes from the Node's podCIDR.
mkdir -p "$ROOT/etc/containerd"
cat > "$ROOT/etc/containerd/.config.toml.new" <<TOML
# Written by pontoon's Vagrant provisioning (scripts/vagrant/provision-worker.sh).
version = 2
[plugins."io.containerd.grpc.v1.cri".cni]
  bin_dir = "$CNI_BIN"
  conf_dir = "$CNI_CONF"
  max_conf_num = 1
TOML
mv "$ROOT/etc/containerd/.config.toml.new" "$ROOT/etc/containerd/config.toml"
mkdir -p "$ROOT/run/pontoon" "$ROOT/var/lib/cni/networks" "$STATE/kubelet"

pontoon_install --unit agent --unit kubelet \
  --agent-arg=--kubeconfig="$ETC/kubeconfig" --agent-arg=--node-name="$NAME" \
  --agent-arg=--iface-cidr="$UNDERLAY_CIDR" --agent-arg=--cluster-cidr="$CLUSTER_CIDR" \
  --agent-arg=--overlay=vxlan --agent-arg=--cni-mtu=1450 \
  --agent-arg=--cni-socket="$ROOT/run/pontoon/cni.sock" --agent-arg=--cni-ipam-data-dir="$ROOT/var/lib/cni/networks" \
  --kubelet-arg=--kubeconfig="$ETC/kubeconfig" --kubelet-arg=--node-name="$NAME" \
  --kubelet-arg=--netns-prefix="$NETNS_PREFIX" --kubelet-arg=--state-dir="$STATE/kubelet" \
  --kubelet-arg=--healthz=127.0.0.1:10248

if [ "$SYSTEMD" = 1 ]; then
  systemctl restart containerd
  wait_until 120 "the agent's /healthz" curl -sf http://127.0.0.1:10256/healthz
  log "worker $NAME is up"
fi
