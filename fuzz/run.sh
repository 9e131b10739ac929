#!/usr/bin/env bash
# fuzz/run.sh - run the libFuzzer targets of a fuzz build for a set time each,
# one after the other, and print what each reached.
#
#   fuzz/run.sh BUILD_DIR SECONDS [TARGET...]     (default: every fuzz/fuzz_*.c)
#
# Each target starts from its committed corpus fuzz/corpus/<target>/ (read
# only) and writes what it finds to BUILD_DIR/fuzz-work/<target>/corpus/; its
# log, and the input of a crash, go to BUILD_DIR/fuzz-work/<target>/.
# With FUZZ_MERGE=1 a clean run's findings are minimized against the committed
# corpus (-merge=1): only the inputs that reach coverage it does not are added
# to fuzz/corpus/<target>/ (named by their SHA-1), ready to commit; the named
# seeds and kept reproducers stay as they are.
# FUZZ_NICE (default 10) is the niceness the targets run at. What the code
# under test prints is discarded (-close_fd_mask=3: the tool's messages);
# libFuzzer's and the sanitizers' reports still reach the log.
#
# Per target it prints the executions, executions per second, the coverage
# (libFuzzer's "cov:", edges of the instrumented code reached) and the
# findings; the exit status is 1 if any target found a crash, leak or timeout.
set -u
cd "$(dirname "$0")/.."
build=${1:?usage: fuzz/run.sh BUILD_DIR SECONDS [TARGET...]}
secs=${2:?usage: fuzz/run.sh BUILD_DIR SECONDS [TARGET...]}
shift 2
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for f in fuzz/fuzz_*.c; do targets+=("$(basename "$f" .c)"); done
fi

found=0
printf '%-24s %8s %12s %9s %10s  %s\n' target seconds executions exec/s "cov edges" findings
for t in "${targets[@]}"; do
  bin=$build/$t
  if [ ! -x "$bin" ]; then
    echo "$t: no fuzz binary at $bin (is the build configured with AGT_FUZZ?)" >&2
    found=1
    continue
  fi
  work=$build/fuzz-work/$t
  mkdir -p "$work/corpus"
  log=$work/log
  seeds=fuzz/corpus/$t
  nice -n "${FUZZ_NICE:-10}" "$bin" -max_total_time="$secs" -print_final_stats=1 -timeout=10 \
    -close_fd_mask=3 \
    -artifact_prefix="$work/" "$work/corpus" "$seeds" >"$log" 2>&1
  rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
  findings=none
  if [ $rc -ne 0 ]; then
    found=1
    art=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
    findings="exit $rc: $(grep -m1 -E 'ERROR|SUMMARY|deadly signal' "$log" | cut -c1-100)"
    [ -n "$art" ] && findings="$findings (input: $art)"
  elif [ "${FUZZ_MERGE:-0}" = 1 ]; then
    before=$(ls "$seeds" | wc -l)
    if nice -n "${FUZZ_NICE:-10}" "$bin" -merge=1 "$seeds" "$work/corpus" \
        >"$work/merge.log" 2>&1; then
      findings="none; $(( $(ls "$seeds" | wc -l) - before )) inputs merged into $seeds"
    else
      findings="none; merge failed (see $work/merge.log)"
      found=1
    fi
  fi
  printf '%-24s %8s %12s %9s %10s  %s\n' "$t" "$secs" "${execs:-?}" "${rate:-?}" "${cov:-?}" \
    "$findings"
done
exit $found
