#!/bin/sh
# Installs the Debian packages the platform and its tests use, when missing and when we are
# allowed to (root with apt-get):
#   bubblewrap                        the app sandbox (runs fail closed without it)
#   gdal-bin                          GDAL's ogrinfo, an independent client in the tests
#   postgresql postgresql-15-postgis-3  the PostgreSQL + PostGIS server the tests run on
#   chromium                          the browser the Studio's journeys run in (Playwright)
# Never fails the build: without a tool, the tests that need it skip and the test summary
# names it (in CI, TWEELING_REQUIRE_PG=1 makes a missing PostgreSQL an error instead).
set -u
missing=""
command -v bwrap >/dev/null 2>&1 || missing="$missing bubblewrap"
command -v ogrinfo >/dev/null 2>&1 || missing="$missing gdal-bin"
[ -x /usr/lib/postgresql/15/bin/postgres ] || missing="$missing postgresql"
[ -f /usr/share/postgresql/15/extension/postgis.control ] || missing="$missing postgresql-15-postgis-3"
command -v chromium >/dev/null 2>&1 || missing="$missing chromium"
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing Debian packages:$missing"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing) >/tmp/tweeling-apt.log 2>&1 \
        || echo "could not install$missing (see /tmp/tweeling-apt.log); tests that need them will skip"
else
    echo "not root: cannot install$missing (sudo apt-get install$missing); tests that need them will skip"
fi
exit 0
