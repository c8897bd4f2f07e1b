#!/usr/bin/env bash
# Fresh clone to the end of `cargo run -p tour`, as a newcomer (or CI) meets
# it: for each commit given, a clone of this repository at that commit in a
# temporary directory, with an empty target directory, then the tour, timed
# from `cargo run` to its exit. The crates themselves come from cargo's cache
# (~/.cargo/registry), as on any machine that fetched them once: what is
# measured is the build and the run, not the download. The commits run one
# after the other, so that they never share the machine's cores.
#
#   scripts/cold-tour.sh BEFORE AFTER      # e.g. scripts/cold-tour.sh main~5 HEAD
#
# Prints one line per commit: the commit, the wall time, the tour's verdict.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ $# -eq 0 ]; then
    echo "usage: scripts/cold-tour.sh COMMIT [COMMIT...]" >&2
    exit 2
fi

results=()
for rev in "$@"; do
    sha=$(git rev-parse --short "$rev^{commit}")
    dir=$(mktemp -d)
    git clone --quiet --no-checkout . "$dir/repo"
    git -C "$dir/repo" checkout --quiet "$sha"
    echo "== $rev ($sha): cargo run -p tour in a fresh clone" >&2
    start=$(date +%s%N)
    set +e
    (cd "$dir/repo" && CARGO_TARGET_DIR="$dir/target" cargo run --locked -q -p tour -- --ephemeral-ports \
        >"$dir/tour.out" 2>"$dir/tour.err")
    status=$?
    set -e
    end=$(date +%s%N)
    verdict=$(grep -E 'examples run' "$dir/tour.out" | tail -1 || true)
    seconds=$(( (end - start) / 1000000000 ))
    results+=("$rev ($sha): ${seconds} s, exit $status, ${verdict:-no verdict (see $dir/tour.err)}")
    if [ "$status" = 0 ]; then rm -rf "$dir"; fi
done
printf '%s\n' "${results[@]}"
