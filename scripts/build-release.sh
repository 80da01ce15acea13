#!/usr/bin/env bash
# Builds a loket release into DIST (default dist/):
#   loket-x86_64-linux     the binary every instance workflow installs (stripped)
#   loket_<v>-1_amd64.deb  the same binary, a man page per command, shell
#                          completions and the docs (cargo-deb)
#   SHA256SUMS             checksums of both
# The .deb's /usr/bin/loket is byte for byte the release binary, so `loket init`
# run from either pins the checksum of the asset the workflows download.
#
#   scripts/build-release.sh                      release build (the release workflow)
#   LOKET_BIN=target/debug/loket DIST=/tmp/d scripts/build-release.sh
#                                                 package a binary already built
#                                                 (tests/release_deb.rs)
set -euo pipefail
cd "$(dirname "$0")/.."
dist=$(realpath -m "${DIST:-dist}")
# cargo-deb's asset paths (Cargo.toml) are relative to the package: target/assets.
target=target
bin=${LOKET_BIN:-}
if [ -z "$bin" ]; then
  cargo build --locked --release --bin loket
  bin="${CARGO_TARGET_DIR:-target}/release/loket"
fi
mkdir -p "$dist"
# One copy, stripped once: the asset and the package's binary are the same bytes.
cp "$bin" "$dist/loket-x86_64-linux"
strip --strip-unneeded "$dist/loket-x86_64-linux"
rm -rf "$target/assets"
"$dist/loket-x86_64-linux" generate-assets --out "$target/assets"
mkdir -p "$target/assets/bin"
cp "$dist/loket-x86_64-linux" "$target/assets/bin/loket"
rm -f "$dist"/loket_*.deb
cargo deb --no-build --no-strip --output "$dist/"
(cd "$dist" && sha256sum loket-x86_64-linux loket_*.deb > SHA256SUMS)
cat "$dist/SHA256SUMS"
