#!/usr/bin/env bash
# The tests, exactly as CI runs them: `cargo test --workspace --locked`, with
# headless Chromium for the web view's browser test (testkit/tests/browser.rs).
# When `chromium` is missing and apt-get is there (Debian, Ubuntu), Debian's
# package is installed first; a browser elsewhere can be named with
# CHROMIUM=/path/to/chrome. With a browser the test must run
# (REQUIRE_BROWSER_TEST=1); without one it cannot, and the last line of the
# run says so: a skipped test is never reported as passed.
#
#   scripts/test.sh            # extra arguments go to cargo test
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${CHROMIUM:-}" ] && ! command -v chromium >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
    sudo=""
    if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
    echo "test.sh: installing Debian's chromium for the browser test" >&2
    $sudo apt-get update
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium
fi

browser=yes
if [ -n "${CHROMIUM:-}" ] || command -v chromium >/dev/null 2>&1; then
    export REQUIRE_BROWSER_TEST=1
else
    browser=no
fi

cargo test --workspace --locked "$@"

if [ "$browser" = no ]; then
    echo >&2
    echo "NOT RUN: the browser test (testkit/tests/browser.rs) needs headless Chromium, and none was found." >&2
    echo "         Install it (apt-get install chromium) or name one: CHROMIUM=/path/to/chrome scripts/test.sh" >&2
fi
