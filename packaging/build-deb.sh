#!/usr/bin/env bash
# Builds dist/tailcast_VERSION_ARCH.deb with dpkg-deb from a release build linked with the Swift
# standard library statically (the host needs no Swift), then runs lintian on it.
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=0.1.0
ARCH=$(dpkg --print-architecture)
SCRATCH=.build-static
swift build -c release --product tailcast --static-swift-stdlib --scratch-path "$SCRATCH"
BIN="$SCRATCH/release/tailcast"
RES="$SCRATCH/release/tailcast_TailcastServer.resources"

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
install -d "$root/DEBIAN" "$root/usr/lib/tailcast" "$root/usr/bin" "$root/etc/tailcast" \
  "$root/lib/systemd/system" "$root/usr/share/doc/tailcast" "$root/usr/share/man/man1"
install -m 0755 -s "$BIN" "$root/usr/lib/tailcast/tailcast"
cp -r "$RES" "$root/usr/lib/tailcast/"
find "$root/usr/lib/tailcast" -type d -exec chmod 0755 {} + ; find "$root/usr/lib/tailcast" -type f ! -name tailcast -exec chmod 0644 {} +
ln -s ../lib/tailcast/tailcast "$root/usr/bin/tailcast"
install -m 0644 packaging/tailcast.toml "$root/etc/tailcast/tailcast.toml"
install -m 0644 packaging/tailcast.service "$root/lib/systemd/system/tailcast.service"
install -m 0644 README.md docs/protocol.md docs/configuration.md docs/tail.md docs/cluster.md "$root/usr/share/doc/tailcast/"
cat > "$root/usr/share/doc/tailcast/copyright" <<COPY
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: tailcast
Source: tailcast

Files: *
Copyright: 2026 the tailcast authors
License: Apache-2.0
 On Debian systems, the full text of the Apache License 2.0 can be found in
 /usr/share/common-licenses/Apache-2.0.
COPY
printf 'tailcast (%s) unstable; urgency=medium\n\n  * Initial package.\n\n -- tailcast maintainers <maintainers@tailcast.invalid>  %s\n' \
  "$VERSION" "$(date -R)" | gzip -9n > "$root/usr/share/doc/tailcast/changelog.gz"
# A man page made from --help.
{
  echo ".TH TAILCAST 1 \"$(date +%Y-%m-%d)\" \"tailcast $VERSION\" \"User Commands\""
  echo ".SH NAME"
  echo "tailcast \\- live log tailing over WebSocket"
  echo ".SH DESCRIPTION"
  echo ".nf"
  "$BIN" --help | sed 's/\\/\\\\/g; s/^\./\\\&./'
  echo
  "$BIN" serve --help | sed 's/\\/\\\\/g; s/^\./\\\&./'
  echo
  "$BIN" tail --help | sed 's/\\/\\\\/g; s/^\./\\\&./'
  echo ".fi"
  echo ".SH FILES"
  echo "/etc/tailcast/tailcast.toml"
  echo ".SH SEE ALSO"
  echo "/usr/share/doc/tailcast/configuration.md, /usr/share/doc/tailcast/protocol.md, /usr/share/doc/tailcast/tail.md,"
  echo "/usr/share/doc/tailcast/cluster.md"
} | gzip -9n > "$root/usr/share/man/man1/tailcast.1.gz"
echo "/etc/tailcast/tailcast.toml" > "$root/DEBIAN/conffiles"
# Shared libraries the binary links (the Swift runtime is static): PCRE2, libsystemd (journal,
# sd_notify), the NATS C client (agents and viewers on a JetStream bus), zlib (Foundation,
# WebSocket compression) and the C/C++ runtime.
DEPENDS="libc6, libgcc-s1, libnats3.4, libpcre2-8-0, libstdc++6, libsystemd0, zlib1g"
# Every library the binary needs must come from a package in Depends: a new link (say zlib)
# fails the build here instead of an install on a host that lacks it.
if command -v objdump >/dev/null; then
  missing=""
  for soname in $(objdump -p "$BIN" | awk '$1 == "NEEDED" { print $2 }'); do
    pkg=$(dpkg -S "*/$soname" 2>/dev/null | sed -n '1s/[:,].*//p')
    if [ -z "$pkg" ]; then
      missing+=$'\n'"  $soname: from no Debian package (is the Swift runtime linked statically?)"
    elif [[ ", $DEPENDS, " != *", $pkg, "* ]]; then
      missing+=$'\n'"  $soname: add $pkg"
    fi
  done
  if [ -n "$missing" ]; then
    echo "build-deb: $BIN needs libraries that Depends ($DEPENDS) does not bring:$missing" >&2
    exit 1
  fi
fi
size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
cat > "$root/DEBIAN/control" <<CTRL
Package: tailcast
Version: $VERSION
Architecture: $ARCH
Maintainer: tailcast maintainers <maintainers@tailcast.invalid>
Installed-Size: $size
Depends: $DEPENDS
Suggests: nats-server
Section: admin
Priority: optional
Homepage: https://tailcast.invalid/
Description: live log tailing over WebSocket
 tailcast follows log files (tail -F semantics) and the systemd journal and
 streams their lines to browsers and WebSocket clients, each with its own
 grep-style filter, backlog, context and lossless resume.
 .
 Across many hosts, tailcast agents publish each host's logs to a NATS
 JetStream bus and viewers serve all of them in one view.
CTRL
cat > "$root/DEBIAN/postinst" <<'POST'
#!/bin/sh
set -e
if [ "$1" = "configure" ] && [ -d /run/systemd/system ]; then
  systemctl daemon-reload >/dev/null 2>&1 || true
fi
POST
cat > "$root/DEBIAN/postrm" <<'POST'
#!/bin/sh
set -e
if [ "$1" = "purge" ]; then
  rm -rf /var/lib/tailcast /var/lib/private/tailcast
fi
if [ -d /run/systemd/system ]; then
  systemctl daemon-reload >/dev/null 2>&1 || true
fi
POST
chmod 0755 "$root/DEBIAN/postinst" "$root/DEBIAN/postrm"
mkdir -p dist
deb="dist/tailcast_${VERSION}_${ARCH}.deb"
dpkg-deb --root-owner-group --build "$root" "$deb" >/dev/null
echo "built $deb"
if command -v lintian >/dev/null; then
  lintian --no-tag-display-limit "$deb" || true
fi
