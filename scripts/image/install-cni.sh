#!/bin/sh
# The DaemonSet's init container: installs pontoon's CNI plugins from the image
# into the node's CNI bin dir without ever writing over a file a running plugin
# may be executing (ETXTBSY), and without a moment where a plugin is half there.
#   - pontoon.d/ (Node, the bundles, the addons) goes into a versioned directory
#     pontoon.d-<id>, copied under a temporary name first, then swapped in whole
#     behind the pontoon.d symlink (a non-empty directory cannot be renamed over);
#   - each launcher is copied to .<name>.new and renamed over the old one.
# Re-running it with the same image changes nothing; a new image leaves the
# previous version's directory in place (a plugin started before the swap may
# still be reading it) and removes older ones.
# Usage: install-cni.sh CNI_BIN_DIR   (default $CNI_BIN_DIR, else /host/opt/cni/bin)
set -eu
src=/opt/pontoon/bin
dest=${1:-${CNI_BIN_DIR:-/host/opt/cni/bin}}
id=$(cat /opt/pontoon/bin-id)
[ -d "$dest" ] || { echo "install-cni: $dest is not a directory (mount the node's CNI bin dir there)" >&2; exit 1; }

versioned=pontoon.d-$id
if [ ! -f "$dest/$versioned/.complete" ]; then
  rm -rf "$dest/.$versioned.tmp"
  cp -a "$src/pontoon.d" "$dest/.$versioned.tmp"
  : >"$dest/.$versioned.tmp/.complete"
  rm -rf "$dest/$versioned"
  mv "$dest/.$versioned.tmp" "$dest/$versioned"
fi

previous=
if [ -L "$dest/pontoon.d" ]; then
  previous=$(readlink "$dest/pontoon.d")
elif [ -d "$dest/pontoon.d" ]; then
  # A plain directory from a manual `cp -a dist/bin/.`: move it aside, so the
  # symlink can take its name (a rename cannot replace a non-empty directory).
  previous=pontoon.d-manual
  rm -rf "$dest/$previous"
  mv "$dest/pontoon.d" "$dest/$previous"
fi
if [ "$previous" != "$versioned" ]; then
  ln -sfn "$versioned" "$dest/.pontoon.d.new"
  mv -T "$dest/.pontoon.d.new" "$dest/pontoon.d"
fi

for name in pontoon-cni pontoon-ipam pontoon; do
  if ! cmp -s "$src/$name" "$dest/$name" 2>/dev/null; then
    cp "$src/$name" "$dest/.$name.new"
    chmod 0755 "$dest/.$name.new"
    mv -f "$dest/.$name.new" "$dest/$name"
  fi
done

# Keep the current and the previous version; older ones have no plugin left running from them.
for d in "$dest"/pontoon.d-*; do
  [ -d "$d" ] || continue
  b=${d##*/}
  [ "$b" = "$versioned" ] || [ "$b" = "$previous" ] || rm -rf "$d"
done
echo "install-cni: $dest/pontoon.d -> $versioned"
