#!/bin/bash
# Compares `carepath evaluate` of this work tree with an earlier commit, in the
# same run: both binaries alternate on the same cohort file, output to a file
# and to /dev/null, and the medians of wall and CPU time are printed.
# A benchmark, not a test: it prints figures and checks only that both
# binaries wrote the same number of lines where their rulesets agree on it.
#
#   Tests/benchmarks/compare-evaluate.sh BASE_COMMIT [RUNS]
#
# The base is built in a temporary git worktree with its own scratch path
# (never share one between trees). The cohort is this tree's
# `carepath-bench cohort` (10,000 patients x 20 events, 55 MB).
set -euo pipefail
base=${1:?usage: $0 BASE_COMMIT [RUNS]}
runs=${2:-7}
swift=${SWIFT:-$(command -v swift || echo /opt/swift/usr/bin/swift)}
root=$(git rev-parse --show-toplevel)
work=$(mktemp -d)
trap 'git -C "$root" worktree remove --force "$work/base" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

build() {  # $1: directory; the products after it. Quiet unless the build fails.
    local dir=$1; shift
    for product in "$@"; do
        (cd "$dir" && "$swift" build -c release --product "$product" --scratch-path "$dir/.build-rel") > "$work/build.log" 2>&1 ||
            { cat "$work/build.log"; echo "building $product in $dir failed" >&2; exit 1; }
    done
}
echo "== building this tree and $base (release); the machine should be otherwise idle while it measures"
build "$root" carepath carepath-bench
git -C "$root" worktree add --detach "$work/base" "$base" >/dev/null 2>&1
build "$work/base" carepath
cp "$root/.build-rel/release/carepath" "$work/new"
cp "$work/base/.build-rel/release/carepath" "$work/base-bin"
"$root/.build-rel/release/carepath-bench" cohort > "$work/cohort.jsonl"
events=$(wc -l < "$work/cohort.jsonl")

measure() {  # $1: output (null|file)
    for b in base-bin new; do : > "$work/$b.$1.times"; done
    for _ in $(seq "$runs"); do
        for b in base-bin new; do
            out=/dev/null; [ "$1" = file ] && out="$work/$b.out.jsonl"
            /usr/bin/time -f "%e %U %S" -o "$work/t" "$work/$b" evaluate --events "$work/cohort.jsonl" > "$out"
            cat "$work/t" >> "$work/$b.$1.times"
        done
    done
    python3 - "$work" "$1" "$events" <<'PY'
import statistics, sys
work, mode, events = sys.argv[1], sys.argv[2], int(sys.argv[3])
rows = {}
for b in ("base-bin", "new"):
    t = [list(map(float, l.split())) for l in open(f"{work}/{b}.{mode}.times")]
    wall = statistics.median(r[0] for r in t); cpu = statistics.median(r[1] + r[2] for r in t)
    rows[b] = (wall, cpu)
    print(f"  {'base' if b == 'base-bin' else 'this'}: wall median {wall:.2f} s ({events / wall:,.0f} events/s), CPU median {cpu:.2f} s")
print(f"  this / base throughput: wall {rows['base-bin'][0] / rows['new'][0]:.0%}, CPU {rows['base-bin'][1] / rows['new'][1]:.0%}")
PY
}
echo "== $events events, $runs alternated runs each, output to a file"
measure file
echo "   output lines: base $(wc -l < "$work/base-bin.out.jsonl"), this $(wc -l < "$work/new.out.jsonl")"
echo "== the same, output to /dev/null"
measure null
