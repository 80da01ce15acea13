#!/usr/bin/env bash
# Installs what the test suite needs: the real daemons it starts on 127.0.0.1 and the
# browser the site is checked in. Idempotent; needs root (or sudo) for apt-get.
set -euo pipefail

PACKAGES=(
  dovecot-imapd dovecot-lmtpd postfix
  openssh-server openssh-client
  slapd ldap-utils
  sudo
  chromium
  poppler-utils zbar-tools
  fonts-liberation
  man-db binutils
)

SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ "${#missing[@]}" -gt 0 ]; then
  echo "installing: ${missing[*]}"
  # Never let apt start the stock daemons: tests start their own on loopback.
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
  $SUDO chmod 755 /usr/sbin/policy-rc.d
  echo "postfix postfix/main_mailer_type select No configuration" | $SUDO debconf-set-selections
  echo "slapd slapd/no_configuration boolean true" | $SUDO debconf-set-selections
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# zizmor, the GitHub Actions auditor that tests/workflows_audit.rs runs offline over the
# workflows. Pinned: a newer release may add audits, which is a change to review on
# its own (bump the version and fix or justify what it finds in the same commit).
ZIZMOR_VERSION=1.32.0
if [ "$(zizmor --version 2>/dev/null)" != "zizmor $ZIZMOR_VERSION" ]; then
  echo "installing: zizmor $ZIZMOR_VERSION"
  python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore \
    "zizmor==$ZIZMOR_VERSION"
  # pyenv installs console scripts behind shims that need a rehash to appear.
  if command -v pyenv >/dev/null 2>&1; then pyenv rehash; fi
fi

# cargo-deb, which tests/release_deb.rs and scripts/build-release.sh package the
# release with. Pinned like zizmor (the release workflow installs the same version).
CARGO_DEB_VERSION=3.8.0
if ! cargo deb --version 2>/dev/null | grep -qx "cargo-deb $CARGO_DEB_VERSION"; then
  echo "installing: cargo-deb $CARGO_DEB_VERSION"
  cargo install --quiet --locked "cargo-deb@$CARGO_DEB_VERSION"
fi

# The Node packages of the browser tests (playwright-core, axe-core), from the lock file.
if [ -f tests/browser/package.json ]; then
  (cd tests/browser && { [ -d node_modules ] || npm ci --no-audit --no-fund --silent; })
fi
echo "test dependencies ready"
