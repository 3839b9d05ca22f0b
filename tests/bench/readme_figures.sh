#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Regenerates the figures the README and docs/papers-in-miniature.md quote: every shipped preset's
# final metrics and wall time, with the machine they were measured on. Usage (after a build):
#   bash tests/bench/readme_figures.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build}
fcl="$build/app/fcl"
db=$(mktemp -d)/figures.sqlite
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)," \
     "$(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo), $(date -u +%F)"
printf '%-20s %8s %8s %8s %8s %10s\n' preset ACC Avg F BWT seconds
for preset in resources/presets/*.json; do
    name=$(basename "$preset" .json)
    start=$(date +%s.%N)
    output=$("$fcl" run "$preset" --db "$db" --quiet)
    end=$(date +%s.%N)
    metric() { echo "$output" | grep -m1 "$1" | awk '{print $NF}'; }
    printf '%-20s %8s %8s %8s %8s %10.1f\n' "$name" "$(metric 'ACC, Last')" \
        "$(metric 'Average incremental')" "$(metric 'Average forgetting')" \
        "$(metric 'Backward transfer')" "$(awk -v a="$start" -v b="$end" 'BEGIN {print b - a}')"
done
