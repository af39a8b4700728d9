#!/usr/bin/env bash
# Makes, with podman, the two base images a generated app's Dockerfile builds from,
# out of what this machine reaches: Debian's mirror and its own Rust toolchain (Docker
# Hub is out of reach). tests/image.rs passes them as the Dockerfile's build arguments.
#
#   localhost/debian:trixie-slim            debootstrap's minimal Debian 13
#   localhost/rust:<x.y>-slim-trixie         that, plus gcc, libc6-dev, CA certificates (and
#                                           this machine's own) and this machine's toolchain,
#                                           laid out as the official rust image is
#                                           (CARGO_HOME=/usr/local/cargo)
#
# Usage: scripts/image-bases.sh WORKDIR. Prints the two names on one line; an image that
# is there already is kept. DEBIAN_MIRROR picks another mirror.
set -euo pipefail

work=${1:?usage: scripts/image-bases.sh WORKDIR}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
debian=localhost/debian:trixie-slim
version=$(rustc --version | cut -d' ' -f2)
rust=localhost/rust:${version%.*}-slim-trixie
mkdir -p "$work"

if ! podman image exists "$debian"; then
    rootfs="$work/debian-rootfs"
    rm -rf "$rootfs"
    echo "image-bases: debootstrap trixie from $mirror" >&2
    debootstrap --variant=minbase trixie "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 || {
        tail -20 "$work/debootstrap.log" >&2
        exit 1
    }
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
    tar -C "$rootfs" -c . | podman import --change 'CMD ["bash"]' - "$debian" >/dev/null
    rm -rf "$rootfs"
fi

if ! podman image exists "$rust"; then
    context="$work/rust-context"
    rm -rf "$context"
    mkdir -p "$context/toolchain"
    sysroot=$(rustc --print sysroot)
    # Hard links where the filesystem allows: the toolchain is a gigabyte. Its
    # documentation (share/) stays out.
    for part in bin lib libexec etc; do
        [[ -e "$sysroot/$part" ]] || continue
        cp -al "$sysroot/$part" "$context/toolchain/" 2>/dev/null \
            || cp -a "$sysroot/$part" "$context/toolchain/"
    done
    # The machine's own certificate authorities (a TLS-inspecting proxy's, say), so the
    # builder reaches crates.io as this machine does.
    mkdir -p "$context/local-ca"
    cp /usr/local/share/ca-certificates/*.crt "$context/local-ca/" 2>/dev/null || true
    cat >"$context/Containerfile" <<'CONTAINERFILE'
ARG BASE_IMAGE
FROM ${BASE_IMAGE}
COPY local-ca/ /usr/local/share/ca-certificates/
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates gcc libc6-dev \
    && rm -rf /var/lib/apt/lists/*
COPY toolchain/ /usr/local/
ENV CARGO_HOME=/usr/local/cargo \
    PATH=/usr/local/cargo/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
CONTAINERFILE
    echo "image-bases: $rust from $sysroot" >&2
    podman build --quiet --isolation chroot --build-arg "BASE_IMAGE=$debian" -t "$rust" "$context" >/dev/null
    rm -rf "$context"
fi

echo "$debian $rust"
