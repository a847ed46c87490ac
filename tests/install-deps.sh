#!/bin/bash
# Installs what building and testing clamav-freshen needs on a Debian 12 machine that has a
# Rust toolchain (rustup): Debian packages for the package and system layers, and the cargo
# subcommands. Idempotent and quiet when everything is there already. Run as root.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
for pkg in debootstrap systemd-container zstd lintian sudo dnsmasq-base time \
           dpkg-dev fakeroot iproute2 util-linux python3 shellcheck xz-utils valgrind; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' ||
        need_apt+=("$pkg")
done
if ((${#need_apt[@]})); then
    echo "install-deps: apt-get install ${need_apt[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

# cargo subcommands, built from crates.io when missing (minutes on 2 cores, once).
# cargo-audit only when its database is there: without ../shared/advisory-db the audit stage
# is skipped, and building it would be minutes for nothing.
command -v cargo-deb >/dev/null || cargo install --locked --quiet cargo-deb
# the size of each dependency in the binaries (tests/bench/sizes.sh)
command -v cargo-bloat >/dev/null || cargo install --locked --quiet cargo-bloat
# licenses, duplicate versions and sources in the lint stage (deny.toml)
command -v cargo-deny >/dev/null || cargo install --locked --quiet cargo-deny
if [[ -d ../shared/advisory-db ]]; then
    command -v cargo-audit >/dev/null || cargo install --locked --quiet cargo-audit
else
    echo "install-deps: no ../shared/advisory-db: cargo-audit not built (the audit stage skips)"
fi
# cargo-fuzz (minutes, once) only where a nightly toolchain is installed; this script installs
# no toolchain. Without either the fuzz stage says SKIP.
if cargo +nightly --version >/dev/null 2>&1; then
    command -v cargo-fuzz >/dev/null || cargo install --locked --quiet cargo-fuzz
else
    echo "install-deps: no nightly toolchain: cargo-fuzz not built (the fuzz stage skips)"
fi
