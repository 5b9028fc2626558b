#!/usr/bin/env bash
# Model-checks carepath's partition ownership protocol
# (Sources/CarepathRuntime/PartitionOwnership.pml) with spin, exhaustively:
#   properties 1 and 2 (assertions, plus no invalid end state): pan built with -DSAFETY;
#   property 3 (LTL, every committed output is eventually published): pan -a -f (weak fairness);
#   the broken variants: each must make spin report the violation it was written for.
# Prints one line per check (states, depth, errors, time) and exits non-zero on
# any unexpected result. Needs spin (Debian's `spin` package) and gcc.
set -u
here="$(cd "$(dirname "$0")" && pwd)"
model="$here/../../Sources/CarepathRuntime/PartitionOwnership.pml"
command -v spin >/dev/null || { echo "model: spin is not installed (apt-get install spin)" >&2; exit 2; }
command -v gcc >/dev/null || { echo "model: gcc is not installed" >&2; exit 2; }
[ -f "$model" ] || { echo "model: $model not found" >&2; exit 2; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp "$model" "$work/model.pml"
failures=0

# run NAME EXPECT SPIN_FLAGS GCC_FLAGS PAN_FLAGS [PATTERN]
#   EXPECT: pass (errors: 0) or fail (errors > 0 and the output matches PATTERN).
run() {
    local name="$1" expect="$2" spinflags="$3" gccflags="$4" panflags="$5" pattern="${6:-}"
    local dir="$work/$name" out start end secs states depth errors verdict
    mkdir -p "$dir" && cp "$work/model.pml" "$dir/"
    start=$(date +%s.%N)
    if ! (cd "$dir" && spin $spinflags -a model.pml >spin.out 2>&1); then
        echo "FAIL  $name: spin -a failed"; sed 's/^/      /' "$dir/spin.out"; failures=$((failures + 1)); return
    fi
    if ! (cd "$dir" && gcc -O2 -w $gccflags -o pan pan.c 2>gcc.out); then
        echo "FAIL  $name: gcc failed"; sed 's/^/      /' "$dir/gcc.out"; failures=$((failures + 1)); return
    fi
    (cd "$dir" && ./pan $panflags >pan.out 2>&1)
    end=$(date +%s.%N)
    secs=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')
    out="$dir/pan.out"
    states=$(awk '/states, stored/ { print $1; exit }' "$out")
    depth=$(sed -n 's/.*depth reached \([0-9]*\).*/\1/p' "$out" | head -1)
    errors=$(sed -n 's/.*errors: \([0-9]*\).*/\1/p' "$out" | head -1)
    if [ -z "$errors" ]; then
        verdict=FAIL; failures=$((failures + 1))
    elif [ "$expect" = pass ]; then
        if [ "$errors" = 0 ] && ! grep -q "search not completed\|max search depth too small" "$out"; then verdict=ok
        else verdict=FAIL; failures=$((failures + 1)); fi
    else
        if [ "$errors" != 0 ] && grep -qF -- "$pattern" "$out"; then verdict=ok
        else verdict=FAIL; failures=$((failures + 1)); fi
    fi
    printf '%-4s  %-58s states %10s  depth %4s  errors %s  %6ss\n' "$verdict" "$name" "${states:-?}" "${depth:-?}" "${errors:-?}" "$secs"
    if [ "$expect" = fail ]; then
        grep -m1 -E "^pan:1: " "$out" | sed 's/^/        found: /'
    fi
    if [ "$verdict" = FAIL ]; then
        grep -E "^pan|error|violated|cycle" "$out" | head -5 | sed 's/^/      /'
    fi
}

echo "== model: partition ownership ($(spin -V | head -1)); N=3 instances, P=2 partitions, B=2 batches each"

# Properties 1 and 2 (safety, exhaustive): two bound sets, more faults or more rebalances.
run "properties 1+2 (faults<=2, moves<=1)" pass "" "-DSAFETY" "-m100000"
run "properties 1+2 (faults<=1, moves<=2)" pass "-DMAXFAULTS=1 -DMAXMOVES=2" "-DSAFETY" "-m100000"
# Property 3 (liveness under weak fairness, exhaustive).
run "property 3, LTL + weak fairness (faults<=1, moves<=1)" pass "-DLIVENESS -DMAXFAULTS=1" "" "-a -f -m100000"

# The broken variants: spin must find the violation each one was written for.
run "broken: no epoch check -> property 1 violated" fail "-DBROKEN_NO_EPOCH_CHECK" "-DSAFETY" "-m100000" \
    "assertion violated ((epoch["
run "broken: no fence at all -> property 1 violated" fail "-DBROKEN_NO_FENCE" "-DSAFETY" "-m100000" \
    "assertion violated (commits["
run "broken: stale cache kept -> property 1 violated" fail "-DBROKEN_KEEP_CACHE" "-DSAFETY" "-m100000" \
    "assertion violated (base["
run "broken: publish before commit -> property 2 violated" fail "-DBROKEN_PUBLISH_EARLY" "-DSAFETY" "-m100000" \
    "assertion violated (outbox["
run "broken: relay own rows only -> property 3 violated" fail "-DLIVENESS -DMAXFAULTS=1 -DBROKEN_RELAY_OWN_ROWS" "" "-a -f -m100000" \
    "acceptance cycle"

if [ "$failures" -ne 0 ]; then
    echo "== model: $failures unexpected result(s)"
    exit 1
fi
echo "== model: all properties hold; every broken variant is caught"
