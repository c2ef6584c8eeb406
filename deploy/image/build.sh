#!/usr/bin/env bash
# Builds sigop's serving image from Debian packages and PyPI wheels alone: no base image, no container registry.
#
#   deploy/image/build.sh OUT.oci.tar   (make image; as root, or with sudo)
#
# mmdebstrap makes a minimal Debian root filesystem with Debian's Python; sigop and what `sigop serve` needs are
# installed into /opt/sigop from wheels pinned to the versions the tests ran (python/requirements.txt, and the
# development venv's own versions for everything those pull in); umoci turns the folder into an OCI image with
# sigop's entrypoint, user and labels, and skopeo writes it as an oci-archive that `podman load`, `docker load`
# and `skopeo copy` take. Training packages (scikit-learn, librosa, matplotlib...) are left out.
set -euo pipefail

out=$(realpath -m "${1:?usage: build.sh OUT.oci.tar}")
root=$(cd "$(dirname "$0")/../.." && pwd)
py=${PY:-$root/.venv/bin/python}
probe=${HEALTH_PROBE:-$root/.bin/grpc-health-probe}
suite=${DEBIAN_SUITE:-bookworm}  # its python3 is 3.11, as the wheels are
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
version=$(sed -nE 's/^version = "(.*)"/\1/p' "$root/python/pyproject.toml")
revision=$(git -C "$root" rev-parse HEAD 2>/dev/null || echo unknown)
[ -z "$(git -C "$root" status --porcelain --untracked-files=no 2>/dev/null)" ] || revision="$revision-dirty"
uid=10001

work=$root/.cache/image
rm -rf "$work/wheels" "$work/layout" "$work/bundle" "$work/rootfs"
mkdir -p "$work/wheels" "$(dirname "$out")"
step() { printf '%s  %s\n' "$(date +%T)" "$*"; }

step "wheels: sigop $version and what sigop serve needs, at the versions the tests ran"
"$py" -m pip wheel --quiet --no-deps -w "$work/wheels" "$root/python"
{ grep -E '^[A-Za-z0-9_.-]+==' "$root/python/requirements.txt"; "$py" -m pip freeze --exclude-editable; } \
  > "$work/constraints.txt"
"$py" -m pip download --quiet --only-binary=:all: -d "$work/wheels" -c "$work/constraints.txt" \
  "$work/wheels/sigop-$version-py3-none-any.whl" "pip==$("$py" -m pip --version | cut -d' ' -f2)"

pip_wheel=$(cd "$work/wheels" && ls pip-*.whl)

step "root filesystem: Debian $suite minbase with python3 (mmdebstrap)"
# Hooks run on this host with the new root as $1. pip runs from its wheel and is not installed: the image has no
# package manager for Python. Byte code is compiled now, so a read-only root filesystem costs no start-up time.
mmdebstrap --quiet --variant=minbase --mode=root --include=python3 \
  --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
  --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/info/*' \
  --customize-hook="cp -r '$work/wheels' \"\$1/tmp/wheels\"" \
  --customize-hook='chroot "$1" python3 -m venv --without-pip /opt/sigop' \
  --customize-hook="chroot \"\$1\" env -i /opt/sigop/bin/python /tmp/wheels/$pip_wheel/pip install --quiet --no-index \
      --no-cache-dir --disable-pip-version-check --find-links /tmp/wheels /tmp/wheels/sigop-$version-py3-none-any.whl" \
  --customize-hook='rm -rf "$1/tmp/wheels"' \
  --customize-hook="chroot \"\$1\" useradd --uid $uid --user-group --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin sigop" \
  --customize-hook="mkdir -p \"\$1/opt/sigop/graphs\" \"\$1/models\" && cp -r '$root/graphs/fft' \"\$1/opt/sigop/graphs/fft\"" \
  --customize-hook="install -m 0755 '$probe' \"\$1/usr/local/bin/grpc-health-probe\"" \
  "$suite" "$work/rootfs" "$mirror"

step "OCI image (umoci): one layer, entrypoint, user $uid, labels"
tag=$version
umoci init --layout "$work/layout"
umoci new --image "$work/layout:$tag"
umoci unpack --image "$work/layout:$tag" "$work/bundle" > /dev/null
rmdir "$work/bundle/rootfs" && mv "$work/rootfs" "$work/bundle/rootfs"
umoci repack --image "$work/layout:$tag" "$work/bundle"
label() { printf -- '--config.label=org.opencontainers.image.%s\n' "$@"; }
mapfile -t labels < <(label "title=sigop" "version=$version" "revision=$revision" \
  "source=https://github.com/sigop-dev/sigop" "licenses=Apache-2.0" \
  "description=Signal operators (FFT, classification) as frozen TensorFlow graphs served over gRPC")
umoci config --image "$work/layout:$tag" --author=sigop --os=linux --architecture=amd64 \
  --config.user="$uid:$uid" --config.workingdir=/ \
  --config.env=PATH=/opt/sigop/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  --config.env=TF_CPP_MIN_LOG_LEVEL=2 --config.env=PYTHONUNBUFFERED=1 \
  --config.env=NUMBA_CACHE_DIR=/tmp/numba --config.env=SIGOP_FFT_GRAPH=/opt/sigop/graphs/fft \
  --clear=config.entrypoint --config.entrypoint=sigop \
  --clear=config.cmd --config.cmd=serve --config.cmd=--graphs=/models --config.cmd=--address=0.0.0.0:50051 \
  --config.cmd=--metrics-address=0.0.0.0:9464 \
  --config.exposedports=50051/tcp --config.exposedports=9464/tcp --config.volume=/models "${labels[@]}"
umoci gc --layout "$work/layout"

step "oci-archive: $out"
rm -f "$out"
skopeo copy --quiet "oci:$work/layout:$tag" "oci-archive:$out:sigop:$tag"
rm -rf "$work/bundle" "$work/layout"
step "done: $(du -m "$out" | cut -f1) MiB compressed"
