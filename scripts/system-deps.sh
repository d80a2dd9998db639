#!/bin/sh
# Installs the Debian tools the test suite uses as independent clients, when missing and
# when we are allowed to (root with apt-get). Never fails the build: tests that need a
# missing tool skip with a reason saying which tool is absent.
set -u
missing=""
command -v ogrinfo >/dev/null 2>&1 || missing="$missing gdal-bin"
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing Debian packages:$missing"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing) >/tmp/tweeling-apt.log 2>&1 \
        || echo "could not install$missing (see /tmp/tweeling-apt.log); tests that need it will skip"
else
    echo "not root: cannot install$missing; tests that need it will skip"
fi
exit 0
