#!/usr/bin/env bash
# The multi-host mode's benchmark: several ndrd instances on one decision
# stream (NATS JetStream). One command that builds what it needs, starts its
# own nats-server on a free loopback port, and prints one table. See
# bench/README.md ("Cluster mode") for what each figure means.
#
#   (1) hash scale-out: `ndrd once`, workers 1, on the 1920x1080 corpus: one
#       cluster instance ingesting every file vs two instances (own
#       directories, one stream) each ingesting half, started together; and
#       one single-host instance (no cluster) for the cost of the stream
#   (2) apply rate of a fresh replica catching up a stream prefilled with
#       BENCH_CLUSTER_ENTRIES synthetic item entries: in process
#       (bench_cluster join) and a real `ndrd once` with nothing to ingest
#   (3) lag of a replica following the stream as the daemon does while a
#       publisher appends at 50% of (2)'s in-process rate
#   (4) start-up time (to "ready") and peak RSS of `ndrd run` on a replica
#       of BENCH_CLUSTER_BIG applied entries (and on (2)'s daemon replica)
#
# Usage: bench/cluster.sh [CORPUS_DIR]
#   CORPUS_DIR  as for bench/run.sh; only its 1920x1080 subdirectory is used
#               (default build-bench/corpus-cluster, built by
#               bench/make_corpus.sh with BENCH_FILES files; a corpus of its
#               own, so that run.sh's 200-file corpus is not rebuilt)
# Environment:
#   BENCH_FILES=1000                files per resolution when the corpus is built
#                                   (1000: ~10 s a run, so that the ~0.3 s of a
#                                   process's start-up and exit weighs little)
#   BENCH_REPEATS=3                 runs per timing; the table shows medians
#   BENCH_CLUSTER_ENTRIES=50000     entries prefilled for (2) and (3)
#   BENCH_CLUSTER_LAG_SECONDS=20    length of one lag run in (3)
#   BENCH_CLUSTER_BIG=1000000       applied entries of (4)'s replica (0: skip)
#   BENCH_BUILD_DIR, BENCH_BUILD_TYPE  see bench/common.sh
#   BENCH_WORK                      scratch (default build-bench/cluster-work; emptied, removed at the end)
#   BENCH_KEEP=1                    keep the scratch directory
#   BENCH_TIMEOUT=600               seconds any one process may take (the 1M catch-up gets more);
#                                   one that takes longer is killed and its step fails
#   NATS_SERVER                     the nats-server binary (default: /usr/sbin/nats-server, installed if missing)
set -euo pipefail
# shellcheck source=bench/common.sh
source "$(dirname "$0")/common.sh"
cd "$bench_root"

(($# <= 1)) || { echo "usage: bench/cluster.sh [CORPUS_DIR]" >&2; exit 64; }
corpus=$(realpath -m "${1:-$bench_build_dir/corpus-cluster}")
files=${BENCH_FILES:-1000}
repeats=${BENCH_REPEATS:-3}
entries=${BENCH_CLUSTER_ENTRIES:-50000}
lag_seconds=${BENCH_CLUSTER_LAG_SECONDS:-20}
big=${BENCH_CLUSTER_BIG:-1000000}
work=$(realpath -m "${BENCH_WORK:-$bench_build_dir/cluster-work}")
nats_server=${NATS_SERVER:-/usr/sbin/nats-server}
proc_timeout=${BENCH_TIMEOUT:-600}
for v in files repeats entries lag_seconds proc_timeout; do
  [[ ${!v} =~ ^[0-9]+$ && ${!v} -ge 1 ]] || bench_die "$v must be a positive integer (got '${!v}')"
done
[[ $big =~ ^[0-9]+$ ]] || bench_die "BENCH_CLUSTER_BIG must be a number (got '$big')"
size=1920x1080

run_started=$EPOCHREALTIME
stamp=$(date -u +%Y%m%dT%H%M%SZ)
logs=$bench_build_dir/bench-logs/cluster-$stamp
problems=()
declare -A R      # results
declare -A T      # seconds each step took
nats_pid=        # the processes this script started that may still run, ended at exit
run_pid=

# ---------------------------------------------------------------- helpers ---

div() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "-"; else print a / b }'; }
warm() {
  find "$@" -type f -exec cat {} + >/dev/null
  sync
}
# limited SECONDS CMD...: CMD, killed (TERM, then KILL 10 s later) when it
# runs longer than SECONDS, so that a process that hangs fails its step
# instead of the benchmark; exit code 124 or 137 then.
limited() {
  local t=$1
  shift
  timeout -k 10 "$t" "$@"
}
# outcome RC: how a process ended, for PROBLEMS.
outcome() { case $1 in 124 | 137) echo "killed after ${2:-$proc_timeout} s (did not finish or did not exit)" ;; *) echo "exit $1" ;; esac; }
# last V...: the last argument, "-" when there is none.
last() { if (($#)); then echo "${!#}"; else echo -; fi; }
mib() { awk -v b="$1" 'BEGIN { printf "%.0f", b / 1048576 }'; }
gib() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1073741824 }'; }
dir_bytes() { du -sb "$1" 2>/dev/null | cut -f1; }
# CPU seconds a running process has used (user + system), from /proc.
cpu_seconds() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$1/stat" 2>/dev/null || echo 0; }

cleanup() {
  local p
  for p in $run_pid $nats_pid; do
    kill -TERM "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  [[ -f ${work:-}/nats/server.err ]] && cp "$work/nats/server.err" "$logs/nats-server.log" 2>/dev/null
  if [[ ${BENCH_KEEP:-0} != 1 ]]; then rm -rf "$work"; fi
}

# write_config DIR WORKERS [STREAM INSTANCE]: ingest, output and index in
# DIR; a cluster member of STREAM on our server when STREAM is given.
write_config() {
  local d=$1
  mkdir -p "$d/in"
  {
    echo "ingest_dir: $d/in"
    echo "output_dir: $d/out"
    echo "index_dir: $d/index"
    echo "log_level: info"
    echo "workers: $2"
    if [[ -n ${3:-} ]]; then
      echo "cluster:"
      echo "  servers: [$nats_url]"
      echo "  stream: $3"
      echo "  instance: $4"
    fi
  } >"$d/ndrd.yaml"
}

# Puts the files a run routed back into DIR/in and forgets the index, so
# that repeats reuse them (each instance has one flat directory).
restore_ingest() {
  local d=$1 n=$2 have
  if [[ -d $d/out ]]; then find "$d/out" -type f -exec mv -t "$d/in" {} +; fi
  rm -rf "$d/out" "$d/index"
  have=$(find "$d/in" -type f | wc -l)
  ((have == n)) || bench_die "after a run, $have of $n files are back in $d/in; see $d/once.err"
}

# ------------------------------------------------------------ preparation ---

[[ -x /usr/bin/time ]] || bench_apt_install time
if [[ ! -x $nats_server ]]; then
  bench_apt_install nats-server
  nats_server=/usr/sbin/nats-server
fi
note "building ndrd and bench_cluster in $bench_build_dir ($bench_build_type)"
bench_build ndrd bench_cluster
ndrd=$bench_build_dir/daemon/ndrd
tool=$bench_build_dir/bench/bench_cluster

corpus_has_images() { [[ -n $(find "$corpus/$size" -maxdepth 1 -type f -print -quit 2>/dev/null) ]]; }
if ! corpus_has_images || { [[ -f $corpus/corpus.info ]] && ! grep -q "^files=$files " "$corpus/corpus.info"; } ||
  [[ -f $corpus/1920x1080.manifest.tsv && ! -f $corpus/corpus.info ]]; then
  BENCH_FILES=$files "$bench_root/bench/make_corpus.sh" "$corpus"
fi
corpus_has_images || bench_die "no $size images in $corpus"

rm -rf "$work"
mkdir -p "$work" "$logs"
trap cleanup EXIT
avail_start=$(df -B1 --output=avail "$work" | tail -1)

machine_cpu=$(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -1)
machine_line="$(nproc) cores (nproc; lscpu: ${machine_cpu:-unknown CPU}, $(lscpu | sed -n 's/^Thread(s) per core:[[:space:]]*//p') thread(s) per core), $(free -g | awk '/^Mem:/ { print $2 }') GiB RAM, Linux $(uname -r)"
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
git_rev=$(git -C "$bench_root" rev-parse --short HEAD 2>/dev/null || echo "?")
git -C "$bench_root" diff --quiet HEAD -- index daemon config 2>/dev/null || git_rev+=" + uncommitted changes in index/ daemon/ config/"
note "machine: $machine_line; load average $load_start"
note "raw outputs go to $logs"

# Our nats-server: JetStream, loopback, a port it picks (-p -1) and reports.
mkdir -p "$work/nats"
"$nats_server" -js -a 127.0.0.1 -p -1 -sd "$work/nats/store" -n ndrd-bench >"$work/nats/server.out" 2>"$work/nats/server.err" &
nats_pid=$!
nats_port=
for _ in $(seq 200); do
  nats_port=$(sed -n 's/.*Listening for client connections on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$work/nats/server.err" | head -1)
  [[ -n $nats_port ]] && grep -q "Server is ready" "$work/nats/server.err" && break
  kill -0 "$nats_pid" 2>/dev/null || break
  sleep 0.05
done
if [[ -z $nats_port ]] || ! grep -q "Server is ready" "$work/nats/server.err"; then
  bench_die "nats-server did not start: $(tail -n 5 "$work/nats/server.err")"
fi
nats_url=nats://127.0.0.1:$nats_port
nats_version=$("$nats_server" --version 2>&1 | head -1)
note "$nats_version at $nats_url (store $work/nats/store)"

# ------------------------------------------------------ (1) hash scale-out ---

step_started=$EPOCHREALTIME
mapfile -t list < <(find "$corpus/$size" -maxdepth 1 -type f | LC_ALL=C sort)
n=${#list[@]}
R[n]=$n
R[kib]=$(printf '%s\0' "${list[@]}" | xargs -0 stat -c %s | awk '{ s += $1 } END { printf "%.0f", s / NR / 1024 }')
s1=$work/scale
# single: no cluster; one: a cluster of one; a and b: two members, the files
# dealt alternately (a: 1st, 3rd, ...; b: 2nd, 4th, ...), as a feed whose
# cameras write to two hosts.
for d in single one a b; do mkdir -p "$s1/$d/in"; done
cp "${list[@]}" "$s1/single/in/"
cp "${list[@]}" "$s1/one/in/"
for ((i = 0; i < n; i++)); do
  if ((i % 2 == 0)); then cp "${list[$i]}" "$s1/a/in/"; else cp "${list[$i]}" "$s1/b/in/"; fi
done
declare -A count_of=([single]=$n [one]=$n [a]=$(((n + 1) / 2)) [b]=$((n / 2)))
warm "$s1"

# once_in DIR LABEL: runs `ndrd once` on DIR/ndrd.yaml under GNU time; its
# wall seconds go to DIR/wall, its processing rate (ndrd's own summary,
# start-up excluded) to DIR/rate, its CPU seconds (user + system) to
# DIR/cpu. Returns ndrd's exit code.
once_in() {
  local d=$1 label=$2 t0 rc=0
  t0=$EPOCHREALTIME
  limited "$proc_timeout" /usr/bin/time -v -o "$d/time.log" "$ndrd" once --config "$d/ndrd.yaml" >"$d/once.out" 2>"$d/once.err" || rc=$?
  echo "$rc" >"$d/rc"
  elapsed_since "$t0" >"$d/wall"
  sed -n 's/.* s (\([0-9.]*\) files\/s).*/\1/p' "$d/once.out" | tail -n 1 >"$d/rate"
  awk -F': ' '/User time|System time/ { s += $2 } END { print s + 0 }' "$d/time.log" >"$d/cpu"
  {
    echo "$label: exit $rc, wall $(cat "$d/wall") s, CPU $(cat "$d/cpu") s: $(tail -n 1 "$d/once.out")"
    sed -n 's/.*Maximum resident set size (kbytes): /  peak RSS KiB /p' "$d/time.log"
  } >>"$logs/scale.log"
  cat "$d/once.err" >>"$logs/scale.$(basename "$d").err"
  return "$rc"
}
kept_of() { sed -n 's/^\([0-9]*\) kept.*/\1/p' "$1/once.out" | tail -1; }

rates_single=() rates_one=() rates_two=() proc_single=() proc_one=() proc_two=() pair_ratios=()
hash_one=() hash_two=() kept_one=() kept_two=() cpu_single=() cpu_one=() cpu_two=() srv_one=() srv_two=() cores_one=() cores_two=()
# per_image CPU_SECONDS: ms per file of the run.
per_image() { awk -v c="$1" -v n="$n" 'BEGIN { printf "%.2f", 1000 * c / n }'; }
for ((r = 1; r <= repeats; r++)); do
  # Single host, no stream.
  write_config "$s1/single" 1
  if once_in "$s1/single" "run $r single host"; then
    rates_single+=("$(div "$n" "$(cat "$s1/single/wall")")")
    proc_single+=("$(cat "$s1/single/rate")")
    cpu_single+=("$(per_image "$(cat "$s1/single/cpu")")")
  else
    problem "(1) ndrd once, single host, run $r: $(outcome "$(cat "$s1/single/rc")"): $(tail -n 2 "$s1/single/once.err" | tr '\n' ' ')"
  fi
  restore_ingest "$s1/single" "$n"
  sync

  # One cluster member on a fresh stream.
  write_config "$s1/one" 1 "scale_one_$r" one
  srv0=$(cpu_seconds "$nats_pid")
  if once_in "$s1/one" "run $r cluster, one instance"; then
    srv=$(awk -v a="$srv0" -v b="$(cpu_seconds "$nats_pid")" 'BEGIN { print b - a }')
    rates_one+=("$(div "$n" "$(cat "$s1/one/wall")")")
    proc_one+=("$(cat "$s1/one/rate")")
    kept_one+=("$(kept_of "$s1/one")")
    cpu_one+=("$(per_image "$(cat "$s1/one/cpu")")")
    srv_one+=("$(per_image "$srv")")
    cores_one+=("$(awk -v c="$(cat "$s1/one/cpu")" -v s="$srv" -v w="$(cat "$s1/one/wall")" 'BEGIN { printf "%.2f", (c + s) / w }')")
  else
    problem "(1) ndrd once, one cluster instance, run $r: $(outcome "$(cat "$s1/one/rc")"): $(tail -n 2 "$s1/one/once.err" | tr '\n' ' ')"
  fi
  restore_ingest "$s1/one" "$n"
  sync

  # Two members on another fresh stream, started together; the pair's wall
  # time is from the start of both to the end of the later.
  write_config "$s1/a" 1 "scale_two_$r" a
  write_config "$s1/b" 1 "scale_two_$r" b
  srv0=$(cpu_seconds "$nats_pid")
  t0=$EPOCHREALTIME
  once_in "$s1/a" "run $r cluster, instance a of two" &
  pid_a=$!
  once_in "$s1/b" "run $r cluster, instance b of two" &
  pid_b=$!
  rc_a=0 rc_b=0
  wait "$pid_a" || rc_a=$?
  wait "$pid_b" || rc_b=$?
  pair_wall=$(elapsed_since "$t0")
  srv=$(awk -v a="$srv0" -v b="$(cpu_seconds "$nats_pid")" 'BEGIN { print b - a }')
  echo "run $r pair wall $pair_wall s, nats-server CPU $srv s; load average $(cut -d' ' -f1 /proc/loadavg)" >>"$logs/scale.log"
  if ((rc_a == 0 && rc_b == 0)); then
    rates_two+=("$(div "$n" "$pair_wall")")
    # The pair's processing rate: every file over the longer of the two
    # instances' processing spans (each one's files / its own rate).
    proc_two+=("$(awk -v na="${count_of[a]}" -v ra="$(cat "$s1/a/rate")" -v nb="${count_of[b]}" -v rb="$(cat "$s1/b/rate")" \
      'BEGIN { ta = na / ra; tb = nb / rb; print (na + nb) / (ta > tb ? ta : tb) }')")
    kept_two+=("$(($(kept_of "$s1/a") + $(kept_of "$s1/b")))")
    pair_cpu=$(awk -v a="$(cat "$s1/a/cpu")" -v b="$(cat "$s1/b/cpu")" 'BEGIN { print a + b }')
    cpu_two+=("$(per_image "$pair_cpu")")
    srv_two+=("$(per_image "$srv")")
    cores_two+=("$(awk -v c="$pair_cpu" -v s="$srv" -v w="$pair_wall" 'BEGIN { printf "%.2f", (c + s) / w }')")
    if ((${#rates_one[@]} >= r)); then pair_ratios+=("$(ratio "$(last "${rates_two[@]}")" "$(last "${rates_one[@]}")")"); fi
  else
    problem "(1) ndrd once, two cluster instances, run $r: a $(outcome "$rc_a"), b $(outcome "$rc_b"); a's summary: $(tail -n 1 "$s1/a/once.out"); b's: $(tail -n 1 "$s1/b/once.out")"
  fi
  restore_ingest "$s1/a" "${count_of[a]}"
  restore_ingest "$s1/b" "${count_of[b]}"
  sync
  # This machine's own ceiling for the ratio: `ndrd hash` (one thread:
  # read, decode, feature, key; no index, stream or move) over every file,
  # then two of them at once over the halves.
  t0=$EPOCHREALTIME
  if limited "$proc_timeout" "$ndrd" hash "$s1/one/in"/* >"$s1/hash.out" 2>>"$logs/scale.hash.err"; then
    hash_one+=("$(div "$n" "$(elapsed_since "$t0")")")
  else
    problem "(1) ndrd hash over all files, run $r failed (see $logs/scale.hash.err)"
  fi
  t0=$EPOCHREALTIME
  limited "$proc_timeout" "$ndrd" hash "$s1/a/in"/* >"$s1/hash.a.out" 2>>"$logs/scale.hash.err" &
  pid_a=$!
  limited "$proc_timeout" "$ndrd" hash "$s1/b/in"/* >"$s1/hash.b.out" 2>>"$logs/scale.hash.err" &
  pid_b=$!
  rc_a=0 rc_b=0
  wait "$pid_a" || rc_a=$?
  wait "$pid_b" || rc_b=$?
  if ((rc_a == 0 && rc_b == 0)); then
    hash_two+=("$(div "$n" "$(elapsed_since "$t0")")")
  else
    problem "(1) two ndrd hash at once, run $r failed (see $logs/scale.hash.err)"
  fi
  echo "run $r ndrd hash: one $(last "${hash_one[@]}"), two at once $(last "${hash_two[@]}") images/s" >>"$logs/scale.log"
  note "(1) run $r: single $(last "${rates_single[@]}"), one $(last "${rates_one[@]}"), two $(last "${rates_two[@]}") images/s; ndrd hash one $(last "${hash_one[@]}"), two $(last "${hash_two[@]}")"
done
R[s1.single]=$(median "${rates_single[@]}")
R[s1.one]=$(median "${rates_one[@]}")
R[s1.two]=$(median "${rates_two[@]}")
R[s1.psingle]=$(median "${proc_single[@]}")
R[s1.pone]=$(median "${proc_one[@]}")
R[s1.ptwo]=$(median "${proc_two[@]}")
R[s1.ratios]=${pair_ratios[*]:--}
R[s1.hash_one]=$(median "${hash_one[@]}")
R[s1.hash_two]=$(median "${hash_two[@]}")
R[s1.kept_one]=${kept_one[*]:--}
R[s1.kept_two]=${kept_two[*]:--}
for k in cpu_single cpu_one cpu_two srv_one srv_two cores_one cores_two; do
  declare -n values=$k
  R[s1.$k]=$(median "${values[@]}")
  unset -n values
done
rm -rf "$s1"
T[1]=$(elapsed_since "$step_started")

# ready_run CONFIG LABEL KEY: `ndrd run` $repeats times; each from its start
# to its "ready" log line (polled every 10 ms), and its VmHWM 3 s after
# ready; then SIGTERM, which must end it with 0. Medians into R[KEY.*].
ready_run() {
  local cfg=$1 label=$2 key=$3 r t0 pid ready hwm rss err readys=() hwms=() rc stuck
  err=$(dirname "$cfg")/run.err
  for ((r = 1; r <= repeats; r++)); do
    sync
    t0=$EPOCHREALTIME
    "$ndrd" run --config "$cfg" >/dev/null 2>"$err" &
    pid=$!
    run_pid=$pid
    ready=-
    while kill -0 "$pid" 2>/dev/null; do
      if grep -q '[[:space:]]ready$' "$err"; then
        ready=$(elapsed_since "$t0")
        break
      fi
      awk -v e="$(elapsed_since "$t0")" -v t="$proc_timeout" 'BEGIN { exit !(e > t) }' && break
      sleep 0.01
    done
    hwm=- rss=-
    if [[ $ready != - ]]; then
      sleep 3
      hwm=$(awk '/^VmHWM:/ { printf "%.0f", $2 / 1024 }' "/proc/$pid/status" 2>/dev/null || echo -)
      rss=$(awk '/^VmRSS:/ { printf "%.0f", $2 / 1024 }' "/proc/$pid/status" 2>/dev/null || echo -)
    fi
    # SIGTERM must end it, within 30 s (systemd gives 90).
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 300); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    stuck=
    if kill -0 "$pid" 2>/dev/null; then
      stuck=" (still running 30 s after SIGTERM: killed)"
      kill -KILL "$pid" 2>/dev/null || true
    fi
    rc=0
    wait "$pid" || rc=$?
    run_pid=
    {
      echo "$label run $r: ready after $ready s, VmHWM $hwm MiB, VmRSS $rss MiB (3 s after ready), exit $rc$stuck"
      grep -E 'index |cluster: |ready' "$err" | head -5 | sed 's/^/  /'
    } >>"$logs/startup.log"
    cat "$err" >>"$logs/startup.$key.err"
    if [[ $ready == - || $rc -ne 0 ]]; then
      problem "(4) ndrd run on the $label replica, run $r: ready $ready, exit $rc$stuck: $(tail -n 2 "$err" | tr '\n' ' ')"
    fi
    readys+=("$ready")
    hwms+=("$hwm")
  done
  R[$key.ready]=$(median "${readys[@]}")
  R[$key.hwm]=$(median "${hwms[@]}")
  R[$key.items]=$(sed -n 's/.*index [^:]*: \([0-9]*\) kept, \([0-9]*\) duplicated.*/\1 \2/p' "$err" | head -1 | awk '{ print $1 + $2 }')
  R[$key.disk]=$(dir_bytes "$(dirname "$cfg")/index")
  # The index's write-ahead log files, which every open replays.
  R[$key.wal]=$(find "$(dirname "$cfg")/index" -maxdepth 1 -name '*.log' -printf '%s\n' | awk '{ s += $1; n++ } END { printf "%d %d", s, n }')
  note "(4) $label replica: ready after ${R[$key.ready]} s, VmHWM ${R[$key.hwm]} MiB"
}

# ------------------------------------------------ (2) apply rate, catch-up ---

step_started=$EPOCHREALTIME
s2=$work/apply
# The stream is created by a replica (its header, then the configuration's
# rules entry, as the first daemon to decide a file appends them), then
# prefilled by the async publisher.
write_config "$s2/producer" 1 apply producer
if out=$(limited "$proc_timeout" "$tool" join --config "$s2/producer/ndrd.yaml" --set-rules 2>>"$logs/apply.err"); then
  echo "producer $out" >>"$logs/apply.log"
else
  problem "(2) creating the stream failed (see $logs/apply.err)"
fi
if out=$(limited "$proc_timeout" "$tool" publish --config "$s2/producer/ndrd.yaml" --count "$entries" --seed 2 --prefix apply 2>>"$logs/apply.err"); then
  echo "prefill $out" >>"$logs/apply.log"
  R[s2.prefill_s]=$(kv "$out" seconds)
  R[s2.prefill_rate]=$(kv "$out" entries_per_s)
  R[s2.entry_bytes]=$(kv "$out" bytes_per_entry)
  R[s2.near]=$(kv "$out" near)
else
  problem "(2) prefilling $entries entries failed (see $logs/apply.err)"
fi
R[s2.stream_mib]=$(mib "$(dir_bytes "$work/nats/store")")
note "(2) prefill: $entries entries in ${R[s2.prefill_s]:--} s"

# Fresh replicas catching up: in process, then the daemon (ndrd once, an
# empty ingest directory: it catches up at start, finds nothing and exits).
inproc=() daemon_rates=() daemon_walls=()
for ((r = 1; r <= repeats; r++)); do
  write_config "$s2/inproc$r" 1 apply "inproc$r"
  sync
  if out=$(limited "$proc_timeout" "$tool" join --config "$s2/inproc$r/ndrd.yaml" 2>>"$logs/apply.err"); then
    echo "in-process run $r $out" >>"$logs/apply.log"
    inproc+=("$(kv "$out" entries_per_s)")
    R[s2.applied]=$(kv "$out" applied)
    R[s2.kept]=$(kv "$out" kept)
    R[s2.duplicated]=$(kv "$out" duplicated)
  else
    problem "(2) in-process catch-up run $r failed (see $logs/apply.err)"
  fi
  rm -rf "$s2/inproc$r"
  write_config "$s2/daemon$r" 1 apply "daemon$r"
  sync
  wall=-
  t0=$EPOCHREALTIME
  rc=0
  limited "$proc_timeout" "$ndrd" once --config "$s2/daemon$r/ndrd.yaml" >"$s2/daemon$r/once.out" 2>"$s2/daemon$r/once.err" || rc=$?
  if ((rc == 0)); then
    wall=$(elapsed_since "$t0")
    replayed=$(sed -n 's/.*cluster: replayed entries \([0-9]*\) to \([0-9]*\) of.*/\1 \2/p' "$s2/daemon$r/once.err" | tail -1)
    if [[ -n $replayed ]]; then
      read -r from to <<<"$replayed"
      daemon_rates+=("$(div "$((to - from + 1))" "$wall")")
      daemon_walls+=("$wall")
    else
      problem "(2) ndrd once run $r replayed nothing (see $logs/apply.daemon$r.err)"
    fi
  else
    problem "(2) ndrd once catch-up run $r: $(outcome "$rc"): $(tail -n 2 "$s2/daemon$r/once.err" | tr '\n' ' ')"
  fi
  cp "$s2/daemon$r/once.err" "$logs/apply.daemon$r.err"
  echo "daemon run $r wall ${wall:--} s: $(grep 'cluster: replayed' "$s2/daemon$r/once.err" | tail -1)" >>"$logs/apply.log"
  # Keep the last one: (4) times a start-up on it.
  ((r == repeats)) || rm -rf "$s2/daemon$r"
  note "(2) run $r: in process $(last "${inproc[@]}"), ndrd once $(last "${daemon_rates[@]}") entries/s"
done
R[s2.inproc]=$(median "${inproc[@]}")
R[s2.daemon]=$(median "${daemon_rates[@]}")
R[s2.daemon_wall]=$(median "${daemon_walls[@]}")
R[s2.inproc_all]=${inproc[*]:--}
R[s2.daemon_all]=${daemon_rates[*]:--}
T[2]=$(elapsed_since "$step_started")

# (4) on (2)'s daemon replica, at BENCH_CLUSTER_ENTRIES applied entries, now:
# (3) appends to its stream, which it would replay at start.
step_started=$EPOCHREALTIME
if [[ -f $s2/daemon$repeats/index/CURRENT ]]; then
  ready_run "$s2/daemon$repeats/ndrd.yaml" "$entries-entry" small
fi
rm -rf "$s2/daemon$repeats"
T[4]=$(elapsed_since "$step_started")

# ------------------------------------------------------------- (3) lag ---

# lag_run MODE R: a fresh stream prefilled as in (2) (the same entries), a
# fresh replica that catches it up (untimed) and then follows it while the
# publisher appends at $lag_rate for $lag_seconds. MODE daemon
# waits 200 ms after every round; MODE eager starts the next round at once while behind, as Service::follow does.
lag_run() {
  local mode=$1 r=$2 d=$s3/$1$2 out cpu0 cpu1 flags=()
  [[ $mode == eager ]] && flags=(--eager)
  write_config "$d/producer" 1 "lag_${mode}_$r" producer
  write_config "$d/follower" 1 "lag_${mode}_$r" follower
  if ! limited "$proc_timeout" "$tool" join --config "$d/producer/ndrd.yaml" --set-rules >>"$logs/lag.log" 2>>"$logs/lag.err" ||
    ! limited "$proc_timeout" "$tool" publish --config "$d/producer/ndrd.yaml" --count "$entries" --seed 2 --prefix apply >>"$logs/lag.log" 2>>"$logs/lag.err"; then
    problem "(3) preparing lag run $mode $r failed (see $logs/lag.err)"
    return
  fi
  sync
  cpu0=$(cpu_seconds "$nats_pid")
  if out=$(limited "$proc_timeout" /usr/bin/time -f '%U %S %e' -o "$d/time" "$tool" lag --config "$d/follower/ndrd.yaml" --rate "$lag_rate" \
    --seconds "$lag_seconds" --seed "$((30 + r))" --prefix "lag$r" "${flags[@]}" 2>>"$logs/lag.err"); then
    cpu1=$(cpu_seconds "$nats_pid")
    # CPU shares over the publishing window (the tool's own include its untimed catch-up: an upper bound).
    out+=" server_cpu=$(awk -v a="$cpu0" -v b="$cpu1" -v s="$(kv "$out" publish_s)" 'BEGIN { printf "%.2f", (b - a) / s }')"
    out+=" tool_cpu=$(awk -v s="$(kv "$out" publish_s)" '{ printf "%.2f", ($1 + $2) / $3 }' "$d/time")"
    echo "$mode run $r $out" >>"$logs/lag.log"
    L[$mode.p50]+=" $(kv "$out" p50_ms)"
    L[$mode.p99]+=" $(kv "$out" p99_ms)"
    L[$mode.max]+=" $(kv "$out" max_ms)"
    L[$mode.rate]+=" $(kv "$out" publish_rate)"
    L[$mode.server_cpu]+=" $(kv "$out" server_cpu)"
    L[$mode.tool_cpu]+=" $(kv "$out" tool_cpu)"
    R[s3.entries]=$(kv "$out" entries)
    note "(3) $mode run $r at $lag_rate entries/s: p50 $(kv "$out" p50_ms) ms, p99 $(kv "$out" p99_ms) ms"
  else
    problem "(3) lag run $mode $r failed (see $logs/lag.err)"
  fi
  rm -rf "$d"
}

step_started=$EPOCHREALTIME
s3=$work/lag
declare -A L=()
if [[ ${R[s2.inproc]} != - ]]; then
  lag_rate=$(awk -v r="${R[s2.inproc]}" 'BEGIN { printf "%.0f", r / 2 }')
  R[s3.rate]=$lag_rate
  for ((r = 1; r <= repeats; r++)); do
    lag_run daemon "$r"
    lag_run eager "$r"
  done
  for mode in daemon eager; do
    for k in p50 p99 max rate server_cpu tool_cpu; do
      # shellcheck disable=SC2086 # the values are a list
      R[s3.$mode.$k]=$(median ${L[$mode.$k]:-})
    done
    R[s3.$mode.p99_all]=${L[$mode.p99]:- -}
  done
else
  problem "(3) skipped: no apply rate from (2)"
fi
rm -rf "$s2" "$s3"
T[3]=$(elapsed_since "$step_started")

# --------------------------------------------- (4) replica start-up, RSS ---

step_started=$EPOCHREALTIME

# The big replica. Scratch per applied entry, before it is measured: the
# index (~3.5 KB an item, write-ahead log included) and the stream (~3.2 KB
# an entry), with a fifth more for compactions.
per_entry=7000
avail=$(df -B1 --output=avail "$work" | tail -1)
R[s4.avail]=$avail
if ((big > 0)) && ((big * per_entry * 12 / 10 > avail)); then
  R[s4.skip]="needs ~$(gib $((big * per_entry * 12 / 10))) GiB of scratch, $(gib "$avail") GiB free"
  problem "(4) the $big-entry replica does not fit: ${R[s4.skip]}"
elif ((big > 0)); then
  s4=$work/big
  # A first replica creates the stream (header, rules); the publisher
  # appends $big entries; then a fresh member's daemon joins: `ndrd once`
  # with nothing to ingest catches up the whole stream at start, as a member
  # that was away would, and leaves a replica built by ndrd itself.
  write_config "$s4/producer" 1 big producer
  write_config "$s4/replica" 1 big replica
  if out=$(limited "$proc_timeout" "$tool" join --config "$s4/producer/ndrd.yaml" --set-rules 2>>"$logs/big.err"); then
    echo "create $out" >>"$logs/big.log"
  else
    problem "(4) creating the big stream failed (see $logs/big.err)"
  fi
  rm -rf "$s4/producer"
  note "(4) publishing $big entries"
  if out=$(limited "$((proc_timeout + big / 1000))" "$tool" publish --config "$s4/replica/ndrd.yaml" --count "$big" --seed 4 --prefix big 2>>"$logs/big.err"); then
    echo "publish $out" >>"$logs/big.log"
    R[s4.publish_s]=$(kv "$out" seconds)
    R[s4.publish_rate]=$(kv "$out" entries_per_s)
    R[s4.entry_bytes]=$(kv "$out" bytes_per_entry)
  else
    problem "(4) publishing $big entries failed (see $logs/big.err)"
  fi
  note "(4) ndrd once catches up $big entries"
  sync
  t0=$EPOCHREALTIME
  rc=0
  # A slow machine applies 1M entries in minutes: more time than one process gets elsewhere.
  limited "$((proc_timeout + big / 1000))" /usr/bin/time -v -o "$logs/big.once.time" "$ndrd" once \
    --config "$s4/replica/ndrd.yaml" >"$s4/once.out" 2>"$s4/once.err" || rc=$?
  if ((rc == 0)); then
    R[s4.apply_s]=$(elapsed_since "$t0")
    read -r from to <<<"$(sed -n 's/.*cluster: replayed entries \([0-9]*\) to \([0-9]*\) of.*/\1 \2/p' "$s4/once.err" | tail -1)"
    read -r applied stream_last <<<"$(sed -n 's/.*cluster: applied up to entry \([0-9]*\) of \([0-9]*\).*/\1 \2/p' "$s4/once.err" | tail -1)"
    R[s4.applied]=${applied:-}
    R[s4.last]=${stream_last:-}
    [[ -n ${to:-} ]] && R[s4.apply_rate]=$(div "$((to - from + 1))" "${R[s4.apply_s]}")
    R[s4.apply_rss]=$(awk -F': ' '/Maximum resident set size/ { printf "%.0f", $2 / 1024 }' "$logs/big.once.time")
  else
    problem "(4) ndrd once's catch-up of $big entries: $(outcome "$rc" "$((proc_timeout + big / 1000))"): $(tail -n 2 "$s4/once.err" | tr '\n' ' ')"
  fi
  cp "$s4/once.err" "$logs/big.once.err"
  echo "catch-up by ndrd once: wall ${R[s4.apply_s]:--} s, $(grep 'cluster: replayed' "$s4/once.err" | tail -1)" >>"$logs/big.log"
  R[s4.stream_disk]=$(dir_bytes "$work/nats/store")
  if [[ -n ${R[s4.applied]:-} && ${R[s4.applied]} == "${R[s4.last]}" ]]; then
    ready_run "$s4/replica/ndrd.yaml" "$big-entry" big
  else
    problem "(4) the big replica is not at the stream's end (applied ${R[s4.applied]:--} of ${R[s4.last]:--})"
  fi
  rm -rf "$s4"
fi
T[4]=$(awk -v a="${T[4]}" -v b="$(elapsed_since "$step_started")" 'BEGIN { print a + b }')

# ------------------------------------------------------------------ table ---

wall=$(elapsed_since "$run_started")
target_mark() { awk -v v="$1" -v t="$2" -v op="$3" 'BEGIN { if (v == "-" || v == "") print ""; else if ((op == ">=" && v + 0 >= t) || (op == "<=" && v + 0 <= t) || (op == "<" && v + 0 < t)) print "met"; else print "MISSED" }'; }
row() { printf '  %-62s %16s   %-9s %s\n' "$1" "$2" "$3" "${4:-}"; }
ten_m_need=$((10000000 * per_entry))
{
  echo "ndrd cluster benchmark (bench/cluster.sh) — $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "machine: $machine_line"
  echo "load average at start: $load_start; build: $bench_build_type, ndrd at git $git_rev; $nats_version, one server, file storage, loopback"
  echo "corpus: $corpus/$size, ${R[n]} files, mean ${R[kib]} KiB; every timing the median of $repeats runs"
  echo
  printf '  %-62s %16s   %-9s %s\n' figure measured target ""
  echo "(1) hash scale-out: ndrd once, workers 1, ${R[n]} files; images/s = files / wall s (start-up included)"
  row "single host, no cluster, 1 instance, images/s" "$(fmt 1 "${R[s1.single]}")" "" "processing $(fmt 1 "${R[s1.psingle]}")"
  row "cluster, 1 instance, images/s" "$(fmt 1 "${R[s1.one]}")" "" "processing $(fmt 1 "${R[s1.pone]}")"
  row "cluster, 2 instances started together (half each), images/s" "$(fmt 1 "${R[s1.two]}")" "" "processing $(fmt 1 "${R[s1.ptwo]}")"
  row "throughput ratio, 2 instances / 1 (cluster)" "$(ratio "${R[s1.two]}" "${R[s1.one]}")" ">= 1.8" "$(target_mark "$(ratio "${R[s1.two]}" "${R[s1.one]}")" 1.8 ">=") per run: ${R[s1.ratios]}"
  row "  the same by processing rates" "$(ratio "${R[s1.ptwo]}" "${R[s1.pone]}")" "" ""
  row "  this machine's ceiling: 2 x ndrd hash at once / 1, images/s" "$(ratio "${R[s1.hash_two]}" "${R[s1.hash_one]}")" "" "$(fmt 1 "${R[s1.hash_two]}") / $(fmt 1 "${R[s1.hash_one]}") (one thread each: no index, stream, move)"
  row "cost of the stream: cluster 1 instance / single host" "$(ratio "${R[s1.one]}" "${R[s1.single]}")" "" "processing $(ratio "${R[s1.pone]}" "${R[s1.psingle]}")"
  row "CPU ms per image, ndrd: single / 1 / 2 instances" "$(fmt 1 "${R[s1.cpu_single]}") / $(fmt 1 "${R[s1.cpu_one]}") / $(fmt 1 "${R[s1.cpu_two]}")" "" "nats-server: $(fmt 1 "${R[s1.srv_one]}") / $(fmt 1 "${R[s1.srv_two]}") ms more (1 / 2 instances)"
  row "cores busy (ndrd + nats-server) over wall: 1 / 2 instances" "$(fmt 2 "${R[s1.cores_one]}") / $(fmt 2 "${R[s1.cores_two]}")" "" "of $(nproc)"
  row "kept: cluster 1 instance / 2 instances (sum), per run" "" "" "${R[s1.kept_one]} / ${R[s1.kept_two]}"
  echo "(2) apply rate: a fresh replica catching up $entries entries (synthetic items, $(fmt 0 "${R[s2.entry_bytes]:--}") B each, ${R[s2.near]:--} near-duplicates)"
  row "prefill (async publish), entries/s" "$(fmt 0 "${R[s2.prefill_rate]:--}")" "" "$(fmt 1 "${R[s2.prefill_s]:--}") s; stream on disk ${R[s2.stream_mib]} MiB"
  row "in process (Decisions::catch_up to the end), entries/s" "$(fmt 0 "${R[s2.inproc]}")" ">= 5000" "$(target_mark "${R[s2.inproc]}" 5000 ">=") per run: ${R[s2.inproc_all]}; ${R[s2.kept]:--} kept, ${R[s2.duplicated]:--} dup"
  row "ndrd once, empty ingest dir (wall incl. start), entries/s" "$(fmt 0 "${R[s2.daemon]}")" ">= 5000" "$(target_mark "${R[s2.daemon]}" 5000 ">=") wall $(fmt 2 "${R[s2.daemon_wall]}") s"
  echo "(3) lag: publish -> applied, a replica of $entries entries following a stream while it grows, $lag_seconds s runs"
  row "publish rate (50% of the in-process apply rate), entries/s" "$(fmt 0 "${R[s3.rate]:--}")" "" "reached $(fmt 0 "${R[s3.daemon.rate]:--}"), ${R[s3.entries]:--} entries a run"
  row "200 ms after every round (<= 4096 a round): p50 / max ms" "$(fmt 0 "${R[s3.daemon.p50]:--}") / $(fmt 0 "${R[s3.daemon.max]:--}")" "" "CPU: nats-server $(fmt 2 "${R[s3.daemon.server_cpu]:--}"), bench_cluster $(fmt 2 "${R[s3.daemon.tool_cpu]:--}") cores"
  row "200 ms after every round: p99 ms" "$(fmt 0 "${R[s3.daemon.p99]:--}")" "<= 1000" "$(target_mark "${R[s3.daemon.p99]:--}" 1000 "<=") per run:${R[s3.daemon.p99_all]:- -}"
  row "as the daemon follows (at once while behind): p50 / max ms" "$(fmt 0 "${R[s3.eager.p50]:--}") / $(fmt 0 "${R[s3.eager.max]:--}")" "" "CPU: nats-server $(fmt 2 "${R[s3.eager.server_cpu]:--}"), bench_cluster $(fmt 2 "${R[s3.eager.tool_cpu]:--}") cores"
  row "as the daemon follows (at once while behind): p99 ms" "$(fmt 0 "${R[s3.eager.p99]:--}")" "<= 1000" "$(target_mark "${R[s3.eager.p99]:--}" 1000 "<=") per run:${R[s3.eager.p99_all]:- -}"
  echo "(4) ndrd run on a replica: start to the \"ready\" log line; VmHWM 3 s after ready"
  if [[ -n ${R[small.ready]:-} ]]; then
    read -r wal_b wal_n <<<"${R[small.wal]}"
    row "$entries applied entries: ready s / VmHWM MiB" "$(fmt 2 "${R[small.ready]}") / ${R[small.hwm]}" "" "index $(mib "${R[small.disk]:-0}") MiB, of it WAL $(mib "$wal_b") MiB in $wal_n files"
  fi
  if [[ -n ${R[big.ready]:-} ]]; then
    read -r wal_b wal_n <<<"${R[big.wal]}"
    row "$big applied entries: ready s" "$(fmt 2 "${R[big.ready]}")" "" "index $(gib "${R[big.disk]:-0}") GiB (WAL $(mib "$wal_b") MiB in $wal_n files), stream $(gib "${R[s4.stream_disk]:-0}") GiB"
    row "$big applied entries: VmHWM MiB" "${R[big.hwm]}" "< 300 MB" "$(target_mark "$(awk -v m="${R[big.hwm]}" 'BEGIN { if (m == "-") print "-"; else print m * 1.048576 }')" 300 "<")"
    row "  building it: publish, entries/s" "$(fmt 0 "${R[s4.publish_rate]:--}")" "" "$(fmt 0 "${R[s4.publish_s]:--}") s"
    row "  building it: ndrd once catching up, entries/s (wall)" "$(fmt 0 "${R[s4.apply_rate]:--}")" ">= 5000" "$(target_mark "${R[s4.apply_rate]:--}" 5000 ">=") $(fmt 0 "${R[s4.apply_s]:--}") s, peak RSS ${R[s4.apply_rss]:--} MiB"
  elif ((big > 0)); then
    row "$big applied entries" "not measured" "< 300 MB" "${R[s4.skip]:-failed, see PROBLEMS}"
  fi
  if ((big < 10000000)); then
    # From this run's own figures when it has them: index bytes per item and stream bytes per entry.
    if [[ -n ${R[big.disk]:-} && $big -gt 0 ]]; then
      ten_m_need=$(awk -v i="${R[big.disk]}" -v n="$big" -v e="${R[s4.entry_bytes]:-3200}" 'BEGIN { printf "%.0f", 1e7 * (i / n + e) }')
    fi
    row "10000000 applied entries" "not measured" "" "needs ~$(gib "$ten_m_need") GiB (index + stream) + a fifth for compactions; $(gib "$avail_start") GiB were free"
    if [[ -n ${R[s4.apply_rate]:-} && -n ${R[s4.publish_rate]:-} ]]; then
      row "" "" "" "and ~$(awk -v p="${R[s4.publish_rate]}" -v a="${R[s4.apply_rate]}" 'BEGIN { printf "%.0f", 1e7 * (1 / p + 1 / a) / 60 }') min to publish and apply at this run's rates"
    fi
  fi
  echo
  echo "step times: (1) $(fmt 0 "${T[1]}") s, (2) $(fmt 0 "${T[2]}") s, (3) $(fmt 0 "${T[3]}") s, (4) $(fmt 0 "${T[4]}") s; whole run $(fmt 0 "$wall") s"
  echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg); raw outputs: $logs"
  if ((${#problems[@]})); then
    echo "PROBLEMS:"
    printf '  - %s\n' "${problems[@]}"
  fi
} | tee "$logs/table.txt"
((${#problems[@]} == 0))
