#!/usr/bin/env bash
# Builds the MQTT bridge's image: the static sigop-bridge binary alone (CGO_ENABLED=0), no base image, no registry.
#
#   deploy/image/build-bridge.sh OUT.oci.tar [GOARCH]   (make image-bridge; no root needed)
#
# The root filesystem holds /usr/local/bin/sigop-bridge, an /etc/passwd naming its user, and /models for the model
# folders the routes name (a volume). umoci makes it an OCI image with the bridge's entrypoint, user and labels;
# skopeo writes the oci-archive that `podman load`, `docker load` and `skopeo copy` take.
set -euo pipefail

out=$(realpath -m "${1:?usage: build-bridge.sh OUT.oci.tar [GOARCH]}")
arch=${2:-amd64}
root=$(cd "$(dirname "$0")/../.." && pwd)
version=$(sed -nE 's/^version = "(.*)"/\1/p' "$root/python/pyproject.toml")
revision=$(git -C "$root" rev-parse HEAD 2>/dev/null || echo unknown)
[ -z "$(git -C "$root" status --porcelain --untracked-files=no 2>/dev/null)" ] || revision="$revision-dirty"
uid=10001
work=$root/.cache/image-bridge
rm -rf "$work" && mkdir -p "$work/rootfs/usr/local/bin" "$work/rootfs/etc" "$work/rootfs/models" "$work/rootfs/tmp" \
  "$(dirname "$out")"
step() { printf '%s  %s\n' "$(date +%T)" "$*"; }

step "sigop-bridge for linux/$arch, static (CGO_ENABLED=0), stripped"
(cd "$root/go" && CGO_ENABLED=0 GOOS=linux GOARCH=$arch go build -trimpath -ldflags='-s -w' \
  -o "$work/rootfs/usr/local/bin/sigop-bridge" ./cmd/sigop-bridge)
printf 'root:x:0:0:root:/nonexistent:/nonexistent\nsigop:x:%d:%d:sigop:/nonexistent:/nonexistent\n' $uid $uid \
  > "$work/rootfs/etc/passwd"
printf 'root:x:0:\nsigop:x:%d:\n' $uid > "$work/rootfs/etc/group"
chmod 1777 "$work/rootfs/tmp"

step "OCI image (umoci): one layer, entrypoint, user $uid, labels"
tag=$version
umoci init --layout "$work/layout"
umoci new --image "$work/layout:$tag"
umoci unpack --rootless --image "$work/layout:$tag" "$work/bundle" > /dev/null
rm -rf "$work/bundle/rootfs" && mv "$work/rootfs" "$work/bundle/rootfs"
umoci repack --image "$work/layout:$tag" "$work/bundle"
umoci config --image "$work/layout:$tag" --author=sigop --os=linux --architecture="$arch" \
  --config.user="$uid:$uid" --config.workingdir=/ \
  --clear=config.entrypoint --config.entrypoint=/usr/local/bin/sigop-bridge \
  --clear=config.cmd --config.cmd=-http=0.0.0.0:8080 \
  --config.exposedports=8080/tcp --config.volume=/models \
  --config.label=org.opencontainers.image.title=sigop-bridge --config.label="org.opencontainers.image.version=$version" \
  --config.label="org.opencontainers.image.revision=$revision" \
  --config.label=org.opencontainers.image.source=https://github.com/sigop-dev/sigop \
  --config.label=org.opencontainers.image.licenses=Apache-2.0 \
  "--config.label=org.opencontainers.image.description=Watches devices on MQTT with exported sigop models, in Go"
umoci gc --layout "$work/layout"

step "oci-archive: $out"
rm -f "$out"
skopeo copy --quiet "oci:$work/layout:$tag" "oci-archive:$out:sigop-bridge:$tag"
rm -rf "$work/bundle" "$work/layout"
step "done: $(du -k "$out" | cut -f1) KiB compressed"
