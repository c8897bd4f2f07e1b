#!/usr/bin/env bash
# The tests, exactly as CI runs them: `cargo test --workspace --locked`, with
# headless Chromium for the web view's browser test (testkit/tests/browser.rs)
# and Debian's MariaDB and Redis for the with-db tests (each test starts a
# private server on a free loopback port in a temporary directory; the system
# services are never used). When `chromium`, `mariadbd` or `redis-server` is
# missing and apt-get is there (Debian, Ubuntu), Debian's packages are
# installed first (chromium, mariadb-server, redis-server: one apt-get
# update, one install); a browser elsewhere can be named with
# CHROMIUM=/path/to/chrome. What is there must run (REQUIRE_BROWSER_TEST=1,
# REQUIRE_DB_TESTS=1); what is not cannot, and the last lines of the run say
# so: a skipped test is never reported as passed. The run ends with its
# verdict, `N passed, N failed`, then those NOT RUN lines.
#
#   scripts/test.sh            # extra arguments go to cargo test
set -euo pipefail
cd "$(dirname "$0")/.."

# On PATH, or where Debian puts servers (/usr/sbin is not on every PATH).
have() {
    command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/usr/bin/$1" ]
}
have_browser() {
    [ -n "${CHROMIUM:-}" ] || command -v chromium >/dev/null 2>&1
}
# What testkit::servers runs.
have_db() {
    have mariadbd && have mariadb-install-db && have mariadb && have redis-server
}

missing=()
have_browser || missing+=(chromium)
have mariadbd || missing+=(mariadb-server)
have redis-server || missing+=(redis-server)
if [ "${#missing[@]}" -gt 0 ] && command -v apt-get >/dev/null 2>&1; then
    sudo=""
    if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
    echo "test.sh: installing Debian's ${missing[*]} for the tests that need them" >&2
    $sudo apt-get update
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}"
fi

browser=no
if have_browser; then
    export REQUIRE_BROWSER_TEST=1
    browser=yes
fi
db=no
if have_db; then
    export REQUIRE_DB_TESTS=1
    db=yes
fi

# The verdict and the NOT RUN lines come last even when a test fails. The
# harness's output (stdout) is also kept in a file, to count its
# `test result:` lines; the exit status is cargo's.
results=$(mktemp)
trap 'rm -f "$results"' EXIT
set +e
cargo test --workspace --locked "$@" | tee "$results"
status=${PIPESTATUS[0]}
set -e

# `test result: ok. 12 passed; 0 failed; 1 ignored; ...`, one per test
# binary and doc-test run.
read -r passed failed ignored binaries < <(awk '
    /^test result: / {
        binaries++
        for (i = 1; i <= NF; i++) {
            if ($(i + 1) ~ /^passed;?$/) passed += $i
            if ($(i + 1) ~ /^failed;?$/) failed += $i
            if ($(i + 1) ~ /^ignored;?$/) ignored += $i
        }
    }
    END { print passed + 0, failed + 0, ignored + 0, binaries + 0 }
' "$results")
echo
verdict="$passed passed, $failed failed"
if [ "$ignored" -gt 0 ]; then
    verdict="$verdict ($ignored ignored)"
fi
echo "$verdict"
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
    # A build error, or a test binary that crashed: cargo stopped there.
    echo "cargo test exited with status $status after $binaries test runs: the error is above (cargo stops at the first failing test binary; --no-fail-fast runs the rest)"
elif [ "$failed" -gt 0 ]; then
    echo "the failures are above (search for FAILED); cargo stops at the first failing test binary: scripts/test.sh --no-fail-fast runs the rest"
fi

if [ "$browser" = no ] || [ "$db" = no ]; then
    echo >&2
fi
if [ "$browser" = no ]; then
    echo "NOT RUN: the browser test (testkit/tests/browser.rs) needs headless Chromium, and none was found." >&2
    echo "         Install it (apt-get install chromium) or name one: CHROMIUM=/path/to/chrome scripts/test.sh" >&2
fi
if [ "$db" = no ]; then
    echo "NOT RUN: the MariaDB and Redis tests (userdb/tests/mariadb.rs and redis.rs, the with-db examples' tests/wire.rs, testkit/tests/servers.rs) need Debian's mariadb-server and redis-server." >&2
    echo "         Install them (apt-get install mariadb-server redis-server) or run on Debian." >&2
fi
exit "$status"
