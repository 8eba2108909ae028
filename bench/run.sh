#!/usr/bin/env bash
# The benchmark of issue 7: one command that builds what it needs and prints
# a table of this machine's numbers and the ratios that matter. See
# bench/README.md for what each step measures and how to read it.
#
# Usage: bench/run.sh [CORPUS_DIR]
#   CORPUS_DIR  one subdirectory of images per resolution (default
#               build-bench/corpus, built by bench/make_corpus.sh when missing)
# Environment:
#   BENCH_FILES=200          files per resolution when the corpus is built
#   BENCH_REPEATS=3          runs per timing; the table shows medians
#   BENCH_INDEX_MAX=1000000  largest index size in step 5 (10k and 100k below it)
#   BENCH_LIVE_SECONDS=20    length of one live run (at most BENCH_FILES files)
#   BENCH_COPIES=5           byte-identical copies of each file in the copy run
#   BENCH_BUILD_DIR, BENCH_BUILD_TYPE  see bench/common.sh
#   BENCH_WORK               scratch directory (default build-bench/work; emptied)
#   BENCH_KEEP=1             keep the scratch directory (the 1M index is ~7 GB)
set -euo pipefail
# shellcheck source=bench/common.sh
source "$(dirname "$0")/common.sh"
cd "$bench_root"

(($# <= 1)) || { echo "usage: bench/run.sh [CORPUS_DIR]" >&2; exit 64; }
corpus=$(realpath -m "${1:-$bench_build_dir/corpus}")
files=${BENCH_FILES:-200}
repeats=${BENCH_REPEATS:-3}
index_max=${BENCH_INDEX_MAX:-1000000}
live_seconds=${BENCH_LIVE_SECONDS:-20}
copies_per_file=${BENCH_COPIES:-5}
work=$(realpath -m "${BENCH_WORK:-$bench_build_dir/work}")
for v in files repeats index_max live_seconds copies_per_file; do
  [[ ${!v} =~ ^[0-9]+$ && ${!v} -ge 1 ]] || bench_die "$v must be a positive integer (got '${!v}')"
done
((index_max >= 10000)) || bench_die "BENCH_INDEX_MAX must be at least 10000"

run_started=$EPOCHREALTIME
stamp=$(date -u +%Y%m%dT%H%M%SZ)
logs=$bench_build_dir/bench-logs/$stamp
problems=()

# ---------------------------------------------------------------- helpers ---

# Reads every file once so that all timed runs start from the page cache,
# then flushes dirty pages so no writeback lands inside a measurement.
warm() {
  find "$@" -type f -exec cat {} + >/dev/null
  sync
}
# peak_rss_mib TIME_LOG: GNU time's maximum resident set size, in MiB.
peak_rss_mib() { awk -F': ' '/Maximum resident set size/ { printf "%.0f", $2 / 1024 }' "$1"; }

# once_config DIR WORKERS [EXTRA_YAML]: a configuration with everything in DIR.
once_config() {
  cat >"$1/ndrd.yaml" <<YAML
ingest_dir: $1/in
output_dir: $1/out
index_dir: $1/index
log_level: warning
workers: $2
${3:-}
YAML
}

# ------------------------------------------------------------ preparation ---

[[ -x /usr/bin/time ]] || bench_apt_install time
note "building ndrd and the bench tools in $bench_build_dir ($bench_build_type)"
bench_build ndrd bench_decode_floor bench_stages bench_index bench_live
ndrd=$bench_build_dir/daemon/ndrd
tools=$bench_build_dir/bench

# The corpus: built when missing, rebuilt when it is ours (corpus.info) and
# was made with another BENCH_FILES. A corpus of one's own is used as is.
corpus_has_images() { [[ -d $corpus ]] && [[ -n $(find "$corpus" -mindepth 2 -maxdepth 2 -type f -print -quit) ]]; }
if ! corpus_has_images || { [[ -f $corpus/corpus.info ]] && ! grep -q "^files=$files " "$corpus/corpus.info"; }; then
  BENCH_FILES=$files "$bench_root/bench/make_corpus.sh" "$corpus"
elif [[ -d $corpus && ! -f $corpus/corpus.info && -f $corpus/1920x1080.manifest.tsv ]]; then
  # Our layout without corpus.info: make_corpus.sh was interrupted.
  BENCH_FILES=$files "$bench_root/bench/make_corpus.sh" "$corpus"
fi
sizes=()
while read -r sub; do
  if [[ -n $(find "$corpus/$sub" -maxdepth 1 -type f -print -quit) ]]; then sizes+=("$sub"); fi
done < <(find "$corpus" -mindepth 1 -maxdepth 1 -type d -printf '%f\n' | LC_ALL=C sort -V)
((${#sizes[@]})) || bench_die "no image subdirectories in $corpus"

rm -rf "$work"
mkdir -p "$work" "$logs"
if [[ ${BENCH_KEEP:-0} != 1 ]]; then
  trap 'rm -rf "$work"' EXIT
fi
declare -A R # results, keyed "step.what.size"

machine_cpu=$(sed -n 's/^model name[[:space:]]*: //p;T;q' /proc/cpuinfo)
machine_line="$(nproc) cores (nproc), ${machine_cpu:-unknown CPU}, $(free -g | awk '/^Mem:/ { print $2 }') GiB RAM, Linux $(uname -r)"
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
git_rev=$(git -C "$bench_root" rev-parse --short HEAD 2>/dev/null || echo "?")
git -C "$bench_root" diff --quiet HEAD -- index daemon config 2>/dev/null || git_rev+=" + uncommitted changes in index/ daemon/ config/"
note "machine: $machine_line; load average $load_start"
note "raw outputs go to $logs"

# ------------------------------------------------- (1) decode-only floor ---

# decode_floor KEY DECODER THREADS SCALE: the median images/s of the decode
# floor over $dir (the current $size) into R[KEY.THREADS.$size].
decode_floor() {
  local key=$1 decoder=$2 threads=$3 scale=$4 vals=() r out
  for ((r = 1; r <= repeats; r++)); do
    if out=$("$tools/bench_decode_floor" --decoder "$decoder" --threads "$threads" --scale "$scale" "$dir" \
      2>>"$logs/decode_floor.err"); then
      echo "$size threads=$threads run=$r $out" >>"$logs/decode_floor.log"
      vals+=("$(kv "$out" images_per_s)")
    else
      problem "$decoder decode floor at 1/$scale failed on $size with $threads threads (see $logs/decode_floor.err)"
      vals+=(-)
    fi
  done
  R[$key.$threads.$size]=$(median "${vals[@]}")
  note "$decoder decode floor $size at 1/$scale, $threads thread(s): ${R[$key.$threads.$size]} images/s"
}

for size in "${sizes[@]}"; do
  dir=$corpus/$size
  R[n.$size]=$(find "$dir" -maxdepth 1 -type f | wc -l)
  R[kib.$size]=$(find "$dir" -maxdepth 1 -type f -printf '%s\n' | awk '{ s += $1 } END { printf "%.0f", s / NR / 1024 }')
  warm "$dir"
  for threads in 1 2; do
    decode_floor floor opencv "$threads" 1
    decode_floor tjfloor turbojpeg "$threads" 1 # the same files decoded the way ndrd decodes JPEG
  done
  # The same decode at 1/8 scale (libjpeg's DCT scaling, as decode_scale:
  # auto uses on these sizes): what a reduced decode costs at the least, since
  # libjpeg still entropy-decodes every coefficient. It bounds the auto ratio.
  decode_floor tj8floor turbojpeg 2 8
done

# ---------------------------------------------- (2) ndrd hash and stages ---

for size in "${sizes[@]}"; do
  dir=$corpus/$size
  mapfile -t list < <(find "$dir" -maxdepth 1 -type f | LC_ALL=C sort)
  warm "$dir"
  vals=()
  for ((r = 1; r <= repeats; r++)); do
    t0=$EPOCHREALTIME
    if "$ndrd" hash "${list[@]}" >"$logs/hash.$size.out" 2>>"$logs/hash.err"; then
      s=$(elapsed_since "$t0")
      vals+=("$(awk -v n="${#list[@]}" -v s="$s" 'BEGIN { print n / s }')")
    else
      problem "ndrd hash failed on $size (see $logs/hash.$size.out and $logs/hash.err)"
      vals+=(-)
    fi
  done
  R[hash.$size]=$(median "${vals[@]}")
  if out=$("$tools/bench_stages" --repeat "$repeats" "$dir" 2>>"$logs/stages.err"); then
    echo "$size $out" >>"$logs/stages.log"
    for k in read_ms decode_ms feature_ms key_ms total_ms; do R[stage.$k.$size]=$(kv "$out" "$k"); done
  else
    problem "bench_stages failed on $size (see $logs/stages.err)"
  fi
  # The same stages with decode_scale: auto's reduced decode: what the
  # feature costs next to a 1/8-scale decode.
  if out=$("$tools/bench_stages" --repeat "$repeats" --decode-scale auto "$dir" 2>>"$logs/stages.err"); then
    echo "$size auto $out" >>"$logs/stages.log"
    for k in read_ms decode_ms feature_ms key_ms total_ms; do R[stage_auto.$k.$size]=$(kv "$out" "$k"); done
  else
    problem "bench_stages --decode-scale auto failed on $size (see $logs/stages.err)"
  fi
  note "ndrd hash $size: ${R[hash.$size]} images/s; stages: ${R[stage.total_ms.$size]:--} ms per image"
done

# ------------------------------------------------ (3) ndrd once end to end ---

# One timed `ndrd once --config CONFIG` over N files: sets once_rate
# (images/s over wall time, start-up included), once_proc_rate (the rate
# ndrd's own summary reports: from the first file to the last, without the
# ~0.1 s of process start-up and index opening that a 200-file copy run
# would otherwise be mostly made of), once_seconds and once_rss (peak, MiB).
once_proc_rate=-
once_rate=-
once_rss=-
once_seconds=-
timed_once() {
  local config=$1 n=$2 label=$3 d t0 s
  d=$(dirname "$config")
  once_rate=-
  once_proc_rate=-
  once_rss=-
  once_seconds=-
  t0=$EPOCHREALTIME
  if /usr/bin/time -v -o "$d/time.log" "$ndrd" once --config "$config" >"$d/once.out" 2>"$d/once.err"; then
    s=$(elapsed_since "$t0")
    once_seconds=$s
    once_rate=$(awk -v n="$n" -v s="$s" 'BEGIN { print n / s }')
    once_rss=$(peak_rss_mib "$d/time.log")
    once_proc_rate=$(sed -n 's/.* s (\([0-9.]*\) files\/s).*/\1/p' "$d/once.out" | tail -1)
    [[ -n $once_proc_rate ]] || once_proc_rate=-
    echo "$label: $(tail -1 "$d/once.out") | wall ${s}s rss ${once_rss}MiB" >>"$logs/once.log"
  else
    problem "ndrd once failed ($label): $(tail -3 "$d/once.err" | tr '\n' ' ')"
  fi
}

# Puts the files ndrd routed back into the ingest directory (they keep their
# names: one flat directory in, one flat directory per subset out), so runs
# reuse them without copying gigabytes; the index starts afresh each run.
restore_ingest() {
  local d=$1 n=$2
  find "$d/out" -type f -exec mv -t "$d/in" {} +
  rm -rf "$d/out" "$d/index"
  local have
  have=$(find "$d/in" -type f | wc -l)
  ((have == n)) || bench_die "after a run, $have of $n files are back in $d/in; see $d/once.err"
}

for size in "${sizes[@]}"; do
  d=$work/once
  rm -rf "$d"
  mkdir -p "$d/in"
  cp "$corpus/$size"/* "$d/in/"
  n=$(find "$d/in" -type f | wc -l)
  warm "$d/in"
  for workers in 1 2; do
    once_config "$d" "$workers"
    rates=()
    rss=()
    copy_rates=()
    proc_rates=()
    copy_proc_rates=()
    for ((r = 1; r <= repeats; r++)); do
      timed_once "$d/ndrd.yaml" "$n" "$size workers=$workers run=$r"
      rates+=("$once_rate")
      proc_rates+=("$once_proc_rate")
      rss+=("$once_rss")
      if ((workers == 2)) && [[ $once_rate != - ]]; then
        # Byte-identical copies of indexed items: the same bytes under new
        # names into the same index and output, so every file is an exact
        # copy. Several copies of each, so that the run lasts long enough for
        # its rate not to be mostly process start-up (~0.1 s).
        mkdir -p "$d/copies"
        for f in "$corpus/$size"/*; do
          for ((k = 1; k <= copies_per_file; k++)); do cp "$f" "$d/copies/copy${k}_${f##*/}"; done
        done
        warm "$d/copies"
        sed "s|^ingest_dir: .*|ingest_dir: $d/copies|" "$d/ndrd.yaml" >"$d/copies.yaml"
        timed_once "$d/copies.yaml" "$((n * copies_per_file))" "$size workers=2 exact-copies run=$r"
        copy_rates+=("$once_rate")
        copy_proc_rates+=("$once_proc_rate")
        find "$d/out" -type f -name 'copy*_*' -delete
        rm -rf "$d/copies"
      fi
      restore_ingest "$d" "$n"
      sync
    done
    R[once.$workers.$size]=$(median "${rates[@]}")
    R[once_rss.$workers.$size]=$(median "${rss[@]}")
    R[once_proc.$workers.$size]=$(median "${proc_rates[@]}")
    if ((workers == 2)); then
      R[copies.$size]=$(median "${copy_rates[@]}")
      R[copies_proc.$size]=$(median "${copy_proc_rates[@]}")
    fi
    note "ndrd once $size, $workers worker(s): ${R[once.$workers.$size]} images/s, peak RSS ${R[once_rss.$workers.$size]} MiB"
  done
  # decode_scale: auto (issue 7's reduced decode), when this build knows the
  # key: a configuration error (exit 78) on an empty ingest directory says no.
  mkdir -p "$work/probe/in"
  once_config "$work/probe" 2 "decode_scale: auto"
  if "$ndrd" once --config "$work/probe/ndrd.yaml" >/dev/null 2>"$work/probe/err"; then
    once_config "$d" 2 "decode_scale: auto"
    rates=()
    proc_rates=()
    for ((r = 1; r <= repeats; r++)); do
      timed_once "$d/ndrd.yaml" "$n" "$size workers=2 decode_scale=auto run=$r"
      rates+=("$once_rate")
      proc_rates+=("$once_proc_rate")
      restore_ingest "$d" "$n"
      sync
    done
    R[auto.$size]=$(median "${rates[@]}")
    R[auto_proc.$size]=$(median "${proc_rates[@]}")
  else
    R[auto.$size]="n/a"
    R[auto_why]=$(head -1 "$work/probe/err")
  fi
  rm -rf "$work/probe"
done

# -------------------------------------------------- (4) live latency ---

# One live run: daemon on a fresh index, files renamed in at $rate; $5 is
# extra config (the decode scale). Per-file latencies go to the logs, so a
# tail can be traced to the files that made it.
live_run() {
  local size=$1 rate=$2 count=$3 label=$4 extra=${5:-} d=$work/live pid out status_text
  rm -rf "$d"
  mkdir -p "$d/in" "$d/stage"
  find "$corpus/$size" -maxdepth 1 -type f | LC_ALL=C sort | sed -n "1,${count}p" | xargs cp -t "$d/stage"
  warm "$d/stage"
  once_config "$d" 2 "$extra"
  "$ndrd" run --config "$d/ndrd.yaml" >"$d/daemon.out" 2>"$d/daemon.err" &
  pid=$!
  local waited=0
  until [[ -S $d/index/control.sock ]]; do
    if ! kill -0 "$pid" 2>/dev/null || ((waited > 300)); then
      problem "live $label: the daemon did not start ($(tail -2 "$d/daemon.err" | tr '\n' ' '))"
      kill "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
      return 0
    fi
    sleep 0.1
    ((++waited))
  done
  if out=$("$tools/bench_live" --stage "$d/stage" --ingest "$d/in" --out "$d/out" --rate "$rate" --timeout 120 \
    --per-file "$logs/live-files-${label// /_}.txt" 2>>"$logs/live.err"); then
    :
  else
    problem "live $label: not every file was routed ($out)"
  fi
  status_text=$("$ndrd" status --config "$d/ndrd.yaml" 2>>"$logs/live.err" || true)
  kill -TERM "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  echo "$label: $out" >>"$logs/live.log"
  echo "$status_text" >>"$logs/live.log"
  live_p50=$(kv "$out" p50_ms)
  live_p99=$(kv "$out" p99_ms)
  live_max=$(kv "$out" max_ms)
  # The daemon's own view (its event-to-routed, from its queue to the move).
  read -r status_p50 status_p99 < <(sed -n 's/.*latency p50 \([0-9.e+-]*\) s, p99 \([0-9.e+-]*\) s.*/\1 \2/p' <<<"$status_text" |
    awk '{ printf "%f %f\n", $1 * 1000, $2 * 1000 }') || true
}

# live_measure SIZE MODE MAX_RATE [EXTRA_CONFIG]: $repeats live runs at half
# of MAX_RATE (that mode's own once 2w rate); medians into R[live.*.MODE.SIZE].
live_measure() {
  local size=$1 mode=$2 max_rate=$3 extra=${4:-} rate count r
  local p50s=() p99s=() maxs=() sp50s=() sp99s=()
  rate=$(awk -v m="$max_rate" 'BEGIN { printf "%.2f", m / 2 }')
  count=$(awk -v r="$rate" -v s="$live_seconds" -v n="${R[n.$size]}" 'BEGIN { c = int(r * s); if (c < 20) c = 20; if (c > n) c = n; print c }')
  for ((r = 1; r <= repeats; r++)); do
    live_p50=-
    live_p99=-
    live_max=-
    status_p50=-
    status_p99=-
    live_run "$size" "$rate" "$count" "$size $mode rate=$rate run=$r" "$extra"
    p50s+=("${live_p50:--}")
    p99s+=("${live_p99:--}")
    maxs+=("${live_max:--}")
    sp50s+=("${status_p50:--}")
    sp99s+=("${status_p99:--}")
  done
  R[live.rate.$mode.$size]=$rate
  R[live.count.$mode.$size]=$count
  R[live.p50.$mode.$size]=$(median "${p50s[@]}")
  R[live.p99.$mode.$size]=$(median "${p99s[@]}")
  R[live.max.$mode.$size]=$(median "${maxs[@]}")
  R[live.sp50.$mode.$size]=$(median "${sp50s[@]}")
  R[live.sp99.$mode.$size]=$(median "${sp99s[@]}")
  # The files behind the tail: the slowest of the last run, with their sizes
  # (sed reads to the end: head would let sort die of SIGPIPE under pipefail).
  R[live.slowest.$mode.$size]=$(sort -k4 -g -r "$logs/live-files-${size}_${mode}_rate=${rate}_run=$repeats.txt" 2>/dev/null |
    sed -n 1,3p | while read -r _ name _ ms; do
      printf '%s %s KiB %s ms; ' "$name" "$(($(stat -c %s "$corpus/$size/$name") / 1024))" "$(fmt 0 "$ms")"
    done)
  note "live $size $mode at $rate files/s: p50 ${R[live.p50.$mode.$size]} ms, p99 ${R[live.p99.$mode.$size]} ms"
}

for size in "${sizes[@]}"; do
  if [[ ${R[once.2.$size]} == - ]]; then
    problem "live $size skipped: no ndrd once rate to derive the load from"
    continue
  fi
  live_measure "$size" full "${R[once.2.$size]}"
  # decode_scale: auto at half its own rate: what a site that needs a lower
  # latency than a full decode allows can get.
  if [[ ${R[auto.$size]} != n/a && ${R[auto.$size]} != - ]]; then
    live_measure "$size" auto "${R[auto.$size]}" "decode_scale: auto"
  fi
done
rm -rf "$work/live"

# -------------------------------------------------------- (5) index scale ---

index_sizes=()
for s in 10000 100000 1000000; do
  if ((s <= index_max)); then index_sizes+=("$s"); fi
done
if ((index_max != index_sizes[-1])); then index_sizes+=("$index_max"); fi
sizes_csv=$(IFS=,; echo "${index_sizes[*]}")
note "index scale: filling to ${sizes_csv//,/, } items (the largest takes minutes)"
t0=$EPOCHREALTIME
# Fresh indexes per run (one per size, timed in turns: see bench_index). Each
# run's ratio (largest size / 10k) is the median of its per-round ratios; the
# table shows the run whose ratio is the median of the runs, and every run's
# ratio beside it.
index_ratios=()
declare -A index_run_of=()
for ((r = 1; r <= repeats; r++)); do
  rm -rf "$work/index-scale/index"
  if /usr/bin/time -v -o "$logs/index.$r.time" "$tools/bench_index" --dir "$work/index-scale/index" \
    --sizes "$sizes_csv" --ops 10000 --seed "$r" >"$logs/index.$r.log" 2>"$logs/index.$r.err"; then
    run_ratio=$(fmt 2 "$(grep '^size=' "$logs/index.$r.log" | tail -1 | sed -n 's/.*ratio_to_smallest=\([^ ]*\).*/\1/p')")
    index_ratios+=("$run_ratio")
    index_run_of[$run_ratio]=$r
  else
    problem "bench_index failed (see $logs/index.$r.err)"
  fi
done
R[index.ratio]=$(median "${index_ratios[@]}")
# With an even count the median is a mean no run has: take the run just below.
median_run=${index_run_of[${R[index.ratio]}]:-}
if [[ -z $median_run && ${#index_ratios[@]} -gt 0 ]]; then
  median_run=${index_run_of[$(printf '%s\n' "${index_ratios[@]}" | LC_ALL=C sort -g | sed -n "$(((${#index_ratios[@]} + 1) / 2))p")]}
fi
if [[ -n $median_run ]]; then
  cp "$logs/index.$median_run.log" "$logs/index.log"
  cp "$logs/index.$median_run.time" "$logs/index.time"
else
  : >"$logs/index.log"
fi
R[index.ratios]=${index_ratios[*]:--}
R[index.seconds]=$(elapsed_since "$t0")
R[index.peak_rss]=$(peak_rss_mib "$logs/index.time" 2>/dev/null || echo -)
R[index.synced_ms]=$(sed -n 's/.*synced_put_ms=\([^ ]*\).*/\1/p' "$logs/index.log")
# The last run's largest index (DIR/<size>) is the one ndrd once opens below.
if [[ -d $work/index-scale/index/${index_sizes[-1]} ]]; then
  mv "$work/index-scale/index" "$work/index-scale/by-size"
  mv "$work/index-scale/by-size/${index_sizes[-1]}" "$work/index-scale/index"
  rm -rf "$work/index-scale/by-size"
fi
# ndrd once over the largest index: does a big index cost memory or speed?
# First with nothing to ingest (what opening, scanning and closing the index
# cost by themselves), then with the first resolution's files.
if [[ -d $work/index-scale/index ]]; then
  big=$work/index-scale
  first=${sizes[0]}
  mkdir -p "$big/empty/in"
  cat >"$big/empty/ndrd.yaml" <<YAML
ingest_dir: $big/empty/in
output_dir: $big/out
index_dir: $big/index
log_level: warning
workers: 2
YAML
  timed_once "$big/empty/ndrd.yaml" 0 "nothing to ingest, over the ${index_sizes[-1]}-item index"
  R[bigempty.s]=$once_seconds
  R[bigempty.rss]=$once_rss
  mkdir -p "$big/in"
  cp "$corpus/$first"/* "$big/in/"
  warm "$big/in"
  once_config "$big" 2
  n=$(find "$big/in" -type f | wc -l)
  timed_once "$big/ndrd.yaml" "$n" "$first workers=2 over the ${index_sizes[-1]}-item index"
  R[bigonce.rate]=$once_rate
  R[bigonce.rss]=$once_rss
  R[bigonce.size]=$first
  rm -rf "$work/index-scale"
fi

# ------------------------------------------------------------------ table ---

wall=$(elapsed_since "$run_started")
{
  echo "ndrd benchmark (bench/run.sh, issue 7) — $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "machine: $machine_line"
  echo "load average at start: $load_start (1/5/15 min; other work on the machine skews every number)"
  echo "build: $bench_build_type, ndrd at git $git_rev"
  echo "corpus: $corpus"
  for size in "${sizes[@]}"; do
    kinds=""
    [[ -f $corpus/$size.manifest.tsv ]] &&
      kinds=" ($(awk -F'\t' 'NR > 1 { c[$2]++ } END { printf "%d unique, %d near-duplicates, %d byte-identical copies", c["unique"], c["near"], c["copy"] }' "$corpus/$size.manifest.tsv"))"
    echo "  $size: ${R[n.$size]} files$kinds, mean ${R[kib.$size]} KiB"
  done
  echo "every timing: median of $repeats runs; images/s = files / wall seconds"
  echo
  echo "(1) decode-only floor: read file + cv::imdecode(IMREAD_UNCHANGED), N threads, images/s"
  printf '  %-12s %12s %12s\n' resolution "1 thread" "2 threads"
  for size in "${sizes[@]}"; do
    printf '  %-12s %12s %12s\n' "$size" "$(fmt 1 "${R[floor.1.$size]}")" "$(fmt 1 "${R[floor.2.$size]}")"
  done
  echo "    the same with ndrd's JPEG decode (TurboJPEG straight to BGR, same pixels):"
  for size in "${sizes[@]}"; do
    printf '  %-12s %12s %12s\n' "$size" "$(fmt 1 "${R[tjfloor.1.$size]}")" "$(fmt 1 "${R[tjfloor.2.$size]}")"
  done
  echo "    TurboJPEG at 1/8 scale (DCT scaling, what decode_scale: auto uses here), 2 threads:"
  for size in "${sizes[@]}"; do
    printf '  %-12s %12s %12s\n' "$size" "" "$(fmt 1 "${R[tj8floor.2.$size]:--}")"
  done
  echo
  echo "(2) ndrd hash: one process, one thread, all files; stages: mean ms per image in ndrd's index code, one thread"
  printf '  %-12s %10s %8s %8s %9s %8s %9s\n' resolution "hash img/s" "read" "decode" "feature" "key" "total"
  for size in "${sizes[@]}"; do
    printf '  %-12s %10s %8s %8s %9s %8s %9s\n' "$size" "$(fmt 1 "${R[hash.$size]}")" \
      "$(fmt 2 "${R[stage.read_ms.$size]:--}")" "$(fmt 2 "${R[stage.decode_ms.$size]:--}")" \
      "$(fmt 2 "${R[stage.feature_ms.$size]:--}")" "$(fmt 3 "${R[stage.key_ms.$size]:--}")" \
      "$(fmt 2 "${R[stage.total_ms.$size]:--}")"
  done
  echo "    the stages with decode_scale: auto (reduced JPEG decode):"
  for size in "${sizes[@]}"; do
    printf '  %-12s %10s %8s %8s %9s %8s %9s\n' "$size" "" \
      "$(fmt 2 "${R[stage_auto.read_ms.$size]:--}")" "$(fmt 2 "${R[stage_auto.decode_ms.$size]:--}")" \
      "$(fmt 2 "${R[stage_auto.feature_ms.$size]:--}")" "$(fmt 3 "${R[stage_auto.key_ms.$size]:--}")" \
      "$(fmt 2 "${R[stage_auto.total_ms.$size]:--}")"
  done
  echo
  echo "(3) ndrd once end to end: fresh index each run, wall time incl. start-up; peak RSS (GNU time)"
  printf '  %-12s %11s %8s %11s %8s %14s %14s\n' resolution "1w img/s" "RSS MiB" "2w img/s" "RSS MiB" "copies 2w" "scale=auto 2w"
  for size in "${sizes[@]}"; do
    printf '  %-12s %11s %8s %11s %8s %14s %14s\n' "$size" "$(fmt 1 "${R[once.1.$size]}")" "${R[once_rss.1.$size]}" \
      "$(fmt 1 "${R[once.2.$size]}")" "${R[once_rss.2.$size]}" "$(fmt 1 "${R[copies.$size]:--}")" \
      "$(fmt 1 "${R[auto.$size]/n\/a/-}" | sed 's/^-$/n\/a/')"
  done
  echo "  copies 2w: the same files again, $copies_per_file copies of each under new names, into the filled index"
  if [[ -n ${R[auto_why]:-} ]]; then echo "  scale=auto: n/a, this build refuses the key: ${R[auto_why]}"; fi
  echo
  echo "(4) live: ndrd run (2 workers), files renamed into ingest at 50% of that mode's once 2w rate; rename -> arrival in a subset"
  printf '  %-12s %-5s %8s %6s %9s %9s %9s   %s\n' resolution decode "files/s" files "p50 ms" "p99 ms" "max ms" "daemon status p50/p99 ms"
  for size in "${sizes[@]}"; do
    for mode in full auto; do
      [[ -n ${R[live.rate.$mode.$size]:-} ]] || continue
      printf '  %-12s %-5s %8s %6s %9s %9s %9s   %s / %s\n' "$size" "$mode" "${R[live.rate.$mode.$size]}" "${R[live.count.$mode.$size]}" \
        "$(fmt 1 "${R[live.p50.$mode.$size]}")" "$(fmt 1 "${R[live.p99.$mode.$size]}")" "$(fmt 1 "${R[live.max.$mode.$size]}")" \
        "$(fmt 1 "${R[live.sp50.$mode.$size]}")" "$(fmt 1 "${R[live.sp99.$mode.$size]}")"
    done
  done
  for size in "${sizes[@]}"; do
    for mode in full auto; do
      [[ -n ${R[live.slowest.$mode.$size]:-} ]] || continue
      echo "  slowest files, $size $mode (last run): ${R[live.slowest.$mode.$size]% }"
    done
  done
  echo
  echo "(5) index scale: index::HashIndex, random unit float32 features, 32-bit keys and digests; 10k ops of"
  echo "    find_by_digest() + judge() + put() on each size's index, the sizes in turns (10 rounds of 1000 ops);"
  echo "    ops/s: median of a size's 10 chunk rates; the run with the median ratio of $repeats"
  printf '  %-10s %9s %11s %10s %9s %13s %9s\n' items "ops/s" "lookup µs" "put µs" "disk MiB" "disk B/item" "RSS MiB"
  while read -r line; do
    [[ $line == size=* ]] || continue
    printf '  %-10s %9s %11s %10s %9s %13s %9s\n' "$(kv "$line" size)" "$(fmt 0 "$(kv "$line" ops_per_s)")" \
      "$(fmt 1 "$(kv "$line" lookup_us)")" "$(fmt 1 "$(kv "$line" put_us)")" "$(fmt 0 "$(kv "$line" disk_mib)")" \
      "$(fmt 0 "$(kv "$line" bytes_per_item)")" "$(fmt 0 "$(kv "$line" rss_mib)")"
  done <"$logs/index.log"
  echo "  peak RSS of bench_index: ${R[index.peak_rss]} MiB; synced put (fsync): $(fmt 2 "${R[index.synced_ms]:--}") ms; step time ${R[index.seconds]} s"
  echo "  ndrd once over the ${index_sizes[-1]}-item index, nothing to ingest: $(fmt 2 "${R[bigempty.s]:--}") s, peak RSS ${R[bigempty.rss]:--} MiB"
  echo "  ndrd once over the ${index_sizes[-1]}-item index, 2 workers, ${R[bigonce.size]:--}: $(fmt 1 "${R[bigonce.rate]:--}") images/s, peak RSS ${R[bigonce.rss]:--} MiB"
  echo
  echo "ratios (same run)                                         measured   issue 7 target"
  # Targets as issue 7 states them, on the resolutions it names.
  target() { case "$1.$2" in floor.1920x1080) echo ">= 0.85" ;; auto.1920x1080) echo ">= 3" ;; auto.4000x3000) echo ">= 6" ;; copies.*) echo ">= 10" ;; esac; }
  for size in "${sizes[@]}"; do
    printf '  %-56s %8s   %s\n' "ndrd once 2w / decode floor 2 threads, $size" "$(ratio "${R[once.2.$size]}" "${R[floor.2.$size]}")" "$(target floor "$size")"
  done
  for size in "${sizes[@]}"; do
    printf '  %-56s %8s   %s\n' "ndrd once 2w / TurboJPEG decode floor 2 threads, $size" "$(ratio "${R[once.2.$size]}" "${R[tjfloor.2.$size]}")" ""
  done
  for size in "${sizes[@]}"; do
    printf '  %-56s %8s   %s\n' "ndrd once 1w / decode floor 1 thread, $size" "$(ratio "${R[once.1.$size]}" "${R[floor.1.$size]}")" ""
    printf '  %-56s %8s   %s\n' "ndrd hash / decode floor 1 thread, $size" "$(ratio "${R[hash.$size]}" "${R[floor.1.$size]}")" ""
  done
  for size in "${sizes[@]}"; do
    printf '  %-56s %8s   %s\n' "exact copies / full once (2w), $size" "$(ratio "${R[copies.$size]:--}" "${R[once.2.$size]}")" "$(target copies "$size")"
    printf '  %-56s %8s   %s\n' "  the same, processing rates (no process start-up)" "$(ratio "${R[copies_proc.$size]:--}" "${R[once_proc.2.$size]:--}")" ""
  done
  for size in "${sizes[@]}"; do
    [[ ${R[auto.$size]} == n/a ]] && continue
    printf '  %-56s %8s   %s\n' "decode_scale auto / full once (2w), $size" "$(ratio "${R[auto.$size]}" "${R[once.2.$size]}")" "$(target auto "$size")"
    printf '  %-56s %8s   %s\n' "  its ceiling: 1/8-scale decode floor / full once (2w)" "$(ratio "${R[tj8floor.2.$size]:--}" "${R[once.2.$size]}")" ""
    printf '  %-56s %8s   %s\n' "  auto once (2w) / 1/8-scale decode floor" "$(ratio "${R[auto.$size]}" "${R[tj8floor.2.$size]:--}")" ""
    printf '  %-56s %8s   %s\n' "    the same by processing rate (no process start-up)" "$(ratio "${R[auto_proc.$size]:--}" "${R[tj8floor.2.$size]:--}")" ""
  done
  printf '  %-56s %8s   %s\n' "index ops/s at ${index_sizes[-1]} / at 10000 items" "${R[index.ratio]}" "$( ((index_sizes[-1] == 1000000)) && echo ">= 0.80")"
  printf '  %-56s %8s\n' "  every run's ratio" "${R[index.ratios]}"
  for size in "${sizes[@]}"; do
    printf '  %-56s %8s   %s\n' "live p99 ms at 50% load, $size" "$(fmt 1 "${R[live.p99.full.$size]:--}")" "<= 50"
    [[ -n ${R[live.p99.auto.$size]:-} ]] || continue
    printf '  %-56s %8s   %s\n' "  the same with decode_scale auto" "$(fmt 1 "${R[live.p99.auto.$size]}")" ""
  done
  printf '  %-56s %8s   %s\n' "peak RSS MiB of ndrd once over the ${index_sizes[-1]}-item index" "${R[bigonce.rss]:--}" "$( ((index_sizes[-1] == 1000000)) && echo "< 300 MB")"
  echo
  echo "wall time of this run: $(fmt 0 "$wall") s; load average at the end: $(cut -d' ' -f1-3 /proc/loadavg); raw outputs: $logs"
  if ((${#problems[@]})); then
    echo "PROBLEMS:"
    printf '  - %s\n' "${problems[@]}"
  fi
} | tee "$logs/table.txt"
((${#problems[@]} == 0))
