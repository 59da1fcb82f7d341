#!/usr/bin/env bash
# Fetches a Debian kernel and builds the initramfs that `pontoon vm run` boots under qemu
# (issue 10: this host's kernel has no ip_vs and no dummy). The kernel is never installed on
# the host: `apt-get download` + `dpkg-deb -x` into the cache, `depmod -b` there (the .deb
# ships no modules.dep, its postinst makes it). Idempotent: a finished image is recorded in
# a stamp naming the kernel and a hash of this script and the guest init, and a second run
# with the same inputs does nothing.
# Usage: build-image.sh [CACHE_DIR]   (default .tools/vm; env PONTOON_VM_KERNEL_PKG pins a kernel package)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${1:-${PONTOON_VM_DIR:-$here/../../.tools/vm}}
mkdir -p "$cache"
cache=$(cd "$cache" && pwd)

# The kernel package the meta-package points at today, unless pinned. A cached kernel is kept
# while it exists: a second setup must not refetch because the archive moved on.
pkg=${PONTOON_VM_KERNEL_PKG:-}
if [ -z "$pkg" ] && [ -f "$cache/kernel-pkg" ]; then pkg=$(cat "$cache/kernel-pkg"); fi
if [ -z "$pkg" ]; then
  pkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
  [ -n "$pkg" ] || { echo "build-image: apt-cache knows no linux-image-amd64 (run apt-get update)" >&2; exit 1; }
fi
kver=${pkg#linux-image-}
inputs=$(cat "$here/build-image.sh" "$here/init" | sha256sum | cut -c1-16)
stamp="$pkg $inputs"
if [ -f "$cache/stamp" ] && [ "$(cat "$cache/stamp")" = "$stamp" ] &&
   [ -f "$cache/vmlinux" ] && [ -f "$cache/initramfs.cpio.gz" ]; then
  exit 0
fi

kroot="$cache/kroot-$kver"
if [ ! -f "$kroot/boot/vmlinuz-$kver" ] || [ ! -f "$kroot/lib/modules/$kver/modules.dep" ]; then
  debs="$cache/debs"; mkdir -p "$debs"
  chown _apt "$debs" 2>/dev/null || true # else apt warns that it downloads unsandboxed
  if ! ls "$debs/${pkg}_"*.deb >/dev/null 2>&1; then (cd "$debs" && apt-get download -q "$pkg" >/dev/null); fi
  rm -rf "$kroot.tmp"; mkdir -p "$kroot.tmp"
  dpkg-deb -x "$debs/${pkg}_"*.deb "$kroot.tmp"
  depmod -b "$kroot.tmp" "$kver"
  rm -rf "$kroot"; mv "$kroot.tmp" "$kroot"
fi

# qemu boots the uncompressed ELF vmlinux directly through its PVH note: no firmware and no
# in-guest xz decompression (2.3 s to userspace under TCG instead of 4.9 s for the bzImage).
if [ ! -f "$cache/vmlinux-$kver" ]; then
  python3 - "$kroot/boot/vmlinuz-$kver" "$cache/vmlinux-$kver.tmp" <<'PY'
import lzma, sys
data = open(sys.argv[1], 'rb').read()
i = data.find(b'\xfd7zXZ\x00')
while i != -1:
    try:
        out = lzma.LZMADecompressor(format=lzma.FORMAT_XZ).decompress(data[i:])
        if out[:4] == b'\x7fELF':
            open(sys.argv[2], 'wb').write(out)
            sys.exit(0)
    except lzma.LZMAError:
        pass
    i = data.find(b'\xfd7zXZ\x00', i + 1)
sys.exit('build-image: no xz-compressed ELF kernel in ' + sys.argv[1])
PY
  mv "$cache/vmlinux-$kver.tmp" "$cache/vmlinux-$kver"
fi

# The initramfs: static busybox, the module closure of what a node dataplane touches, and
# the init. Everything else (Node, iproute2, nft, ipvsadm, the project) comes from the host
# root that the guest mounts read-only over 9p.
st=$(mktemp -d /tmp/pontoon-initramfs.XXXXXX)
trap 'rm -rf "$st"' EXIT
mkdir -p "$st"/{bin,sbin,lib,proc,sys,dev,tmp,run,etc,hostroot,sysroot}
cp /bin/busybox "$st/bin/busybox"
for a in $("$st/bin/busybox" --list); do [ -e "$st/bin/$a" ] || ln -s busybox "$st/bin/$a"; done
mods="ip_vs ip_vs_rr ip_vs_wrr ip_vs_lc ip_vs_wlc ip_vs_sh ip_vs_mh ip_vs_sed ip_vs_nq ip_vs_ftp
 nf_conntrack nf_conntrack_netlink nf_nat nf_defrag_ipv4 nf_defrag_ipv6 libcrc32c crc32c_generic
 xt_ipvs xt_conntrack xt_MASQUERADE xt_mark xt_comment xt_addrtype xt_multiport xt_nat xt_set
 xt_statistic xt_physdev xt_tcpudp xt_REDIRECT xt_recent xt_state ipt_REJECT ip6t_REJECT
 ip_tables iptable_nat iptable_filter iptable_mangle iptable_raw ip6_tables ip6table_nat ip6table_filter
 nf_tables nft_chain_nat nft_ct nft_masq nft_nat nft_compat nft_numgen nft_reject_inet nft_fib_inet nft_redir
 ip_set ip_set_hash_ip ip_set_hash_ipport ip_set_hash_ipportip ip_set_hash_ipportnet ip_set_hash_net
 ip_set_bitmap_port ip_set_hash_netport
 vxlan veth bridge br_netfilter dummy macvlan ipvlan tun
 virtio_pci 9p 9pnet_virtio overlay virtio_net"
for m in $mods; do
  modprobe -d "$kroot" -S "$kver" --show-depends "$m" 2>/dev/null | awk '$1=="insmod"{print $2}'
done | sort -u | while read -r ko; do
  rel=${ko#"$kroot"}; mkdir -p "$st$(dirname "$rel")"; cp "$ko" "$st$rel"
done
for f in modules.order modules.builtin modules.builtin.modinfo; do
  [ -f "$kroot/lib/modules/$kver/$f" ] && cp "$kroot/lib/modules/$kver/$f" "$st/lib/modules/$kver/"
done
depmod -b "$st" "$kver"
ln -sf /bin/busybox "$st/sbin/init"
install -m 0755 "$here/init" "$st/init"
(cd "$st" && find . -print0 | cpio --null -o -H newc --quiet) | gzip -1 > "$cache/initramfs.cpio.gz.tmp"
mv "$cache/initramfs.cpio.gz.tmp" "$cache/initramfs.cpio.gz"
ln -sfn "vmlinux-$kver" "$cache/vmlinux"
echo "$pkg" > "$cache/kernel-pkg"
echo "$stamp" > "$cache/stamp"
echo "build-image: kernel $kver, initramfs $(du -h "$cache/initramfs.cpio.gz" | cut -f1) in $cache"
