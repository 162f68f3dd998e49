#!/bin/sh
# test_package.sh: `make package` builds the three Debian packages (orchestra, liborchestra1,
# liborchestra-dev); their contents, control files and maintainer scripts are what the
# packaging promises, and lintian finds nothing (no error, no warning). Nothing is installed
# on this machine. Usage: test_package.sh SOURCE_DIR BUILD_DIR
set -eu
src=$1
pkg=$2/pkg
fail() {
    echo "test_package: $*" >&2
    exit 1
}
make -C "$src" package PKG_BUILD="$pkg" JOBS=2 >"$2/package.log" 2>&1 ||
    { tail -40 "$2/package.log" >&2; fail "make package"; }
version=$(sed -n 's/^project(orchestra VERSION \([0-9.]*\).*/\1/p' "$src/CMakeLists.txt")
arch=$(dpkg --print-architecture)
daemons=$pkg/orchestra_${version}_$arch.deb
lib=$pkg/liborchestra1_${version}_$arch.deb
dev=$pkg/liborchestra-dev_${version}_$arch.deb
for d in "$daemons" "$lib" "$dev"; do [ -f "$d" ] || fail "missing $d"; done

has() { # has DEB PATH...: every path is in the package
    deb=$1
    shift
    list=$(dpkg-deb -c "$deb" | awk '{print $6}')
    for p in "$@"; do
        printf '%s\n' "$list" | grep -qx "\\./$p" || fail "$(basename "$deb") lacks $p"
    done
}
multi=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
has "$daemons" usr/bin/orchestrad usr/bin/orchestra usr/bin/orchestra-http \
    usr/bin/orchestra-executor usr/bin/orchestra-notify etc/orchestra/orchestrad.conf \
    etc/orchestra/orchestra-http.conf etc/orchestra/orchestra-executor.conf \
    etc/orchestra/orchestra-notify.conf usr/lib/systemd/system/orchestrad.service \
    usr/lib/systemd/system/orchestra-http.service usr/lib/systemd/system/orchestra-executor.service \
    usr/lib/systemd/system/orchestra-notify.service usr/share/man/man8/orchestra-notify.8.gz \
    "usr/lib/$multi/orchestra/plugins/libsimple_workflow.so" \
    usr/share/orchestra/workflows/simple_workflow/workflow.json \
    usr/share/man/man8/orchestrad.8.gz usr/share/man/man1/orchestra.1.gz \
    usr/share/bash-completion/completions/orchestra usr/share/doc/orchestra/copyright
has "$lib" "usr/lib/$multi/liborchestra.so.1" "usr/lib/$multi/liborchestra.so.$version"
has "$dev" usr/include/orchestra/client.h usr/include/orchestra/jobs.h \
    usr/include/orchestra/plugin.h usr/include/orchestra/version.h "usr/lib/$multi/liborchestra.so" \
    "usr/lib/$multi/pkgconfig/orchestra.pc" "usr/lib/$multi/cmake/Orchestra/OrchestraConfig.cmake"

# The daemons' package: config files are conffiles, the user is made, nothing is started.
ctl=$(mktemp -d)
trap 'rm -rf "$ctl"' EXIT
dpkg-deb -e "$daemons" "$ctl/daemons"
grep -qx /etc/orchestra/orchestrad.conf "$ctl/daemons/conffiles" || fail "conffiles"
grep -q "adduser --system" "$ctl/daemons/postinst" || fail "postinst makes no user"
if grep -Eq 'systemctl|deb-systemd-invoke|invoke-rc.d' "$ctl/daemons/postinst"; then
    fail "postinst starts a service"
fi
dpkg-deb -f "$daemons" Depends | grep -q adduser || fail "orchestra does not depend on adduser"
dpkg-deb -f "$dev" Depends | grep -q "liborchestra1 (= $version)" || fail "the -dev package's Depends"
dpkg-deb -e "$lib" "$ctl/lib"
grep -q "ldconfig" "$ctl/lib/triggers" || fail "no ldconfig trigger"
grep -q "^liborchestra 1 liborchestra1" "$ctl/lib/shlibs" || fail "no shlibs"
# Installed binaries are stripped and run.
dpkg-deb -x "$daemons" "$ctl/root"
file "$ctl/root/usr/bin/orchestrad" | grep -q stripped || fail "orchestrad is not stripped"
file "$ctl/root/usr/bin/orchestrad" | grep -q "not stripped" && fail "orchestrad is not stripped"

out=$(lintian --tag-display-limit 0 "$daemons" "$lib" "$dev" 2>&1 | grep -E '^[EW]: ' || true)
[ -z "$out" ] || fail "lintian: $out"
echo "test_package: ok"
