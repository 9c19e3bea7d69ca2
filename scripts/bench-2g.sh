#!/usr/bin/env bash
# A shift over an emulated 2G link (a benchmark, not a test): one device syncs a shift of
# cases with two real photos each to a real server on 127.0.0.1 through a shaping proxy
# (100 kbit/s each way, 250 ms each way), and reports when every document, every thumbnail
# and every photo was on the server against the link's ideal time. Release build.
#
# The link is a proxy in the benchmark (tests/src/shaper.rs), not `tc netem` in a
# network namespace: the kernel of the machine this was written on has no sch_netem. See the
# proxy's documentation for what it models.
#
#   bash scripts/bench-2g.sh                      # the full shift: 200 cases × 2 photos, ~2.9 h;
#                                                 # every 10 min a mark projects the whole shift
#   bash scripts/bench-2g.sh --no-full-photos     # documents and thumbnails only, ~4 min
#   bash scripts/bench-2g.sh --kbit 1000          # the same shift on a 10× faster link, same delay
#   bash scripts/bench-2g.sh --kbit 1000 --delay-ms 25 --timeout-s 6   # the 2G shift scaled 10×
#                                                 # in time (~17 min; see the benchmark's docs)
#   options: --cases N --photos N --kbit RATE --delay-ms MS --overhead BYTES --concurrency N
#            --timeout-s SECONDS --no-full-photos
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo bench --locked -p wangge-e2e --bench link_2g -- "$@"
