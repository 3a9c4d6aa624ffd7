#!/bin/bash
# Whole-process time of `simulacra sample MODEL -n ROWS` to one Parquet file and to a folder of parts,
# for two source trees one after the other (e.g. an older commit exported with `git archive` and this one).
#
#   benchmarks/bench_single_file.sh adult_copula.model /tmp/old/src src 20000000
#
# The model must load in both trees (fit it with the older one). Runs under `nice -n 10`; cpu_s is the
# user+system seconds of the process and its workers (less sensitive to other load than seconds).
set -u
MODEL=$1; OLD=$2; NEW=$3; ROWS=${4:-20000000}; OUT=${TMPDIR:-/tmp}/bench_single_file
mkdir -p "$OUT"
run() {  # label source-tree output
  rm -rf "$3"
  local s e rc
  s=$(date +%s.%N)
  local cpu=$OUT/cpu.txt
  PYTHONPATH=$2 nice -n 10 /usr/bin/time -o "$cpu" -f "%U+%S" python -c "import sys; from simulacra.cli.main import main; sys.exit(main())" \
    sample "$MODEL" -n "$ROWS" --seed 1 -o "$3" > /dev/null 2>&1
  rc=$?
  e=$(date +%s.%N)
  echo "$1 rc=$rc seconds=$(echo "$e - $s" | bc) rows_per_s=$(echo "$ROWS / ($e - $s)" | bc) cpu_s=$(echo "$(tail -1 "$cpu")" | bc) load=$(cut -d' ' -f1 /proc/loadavg)"
  rm -rf "$3"
}
run "old single-file" "$OLD" "$OUT/old.parquet"
run "new single-file" "$NEW" "$OUT/new.parquet"
run "old folder" "$OLD" "$OUT/old_dir/"
run "new folder" "$NEW" "$OUT/new_dir/"
