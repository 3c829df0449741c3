#!/usr/bin/env bash
# Garbage-collection benchmark: our registry's online collection against the reference registry's offline
# `docker-registry garbage-collect`, on this machine, in one run. See bench/README.md. Every process this script
# starts is stopped by its pid on exit; all traffic stays on 127.0.0.1; every loop is bounded.
set -euo pipefail
export LC_ALL=C

usage() {
    cat <<'EOF'
usage: bench/gc.sh [options]
  --only ours|reference   benchmark one registry only (default: both)
  --update                also write the report to bench/RESULTS-gc.md
  --quick                 small sizes (2,000 blobs, 1 x 256 MiB, 200 images, backlog 2,000), to check the script
  --small-blobs N         unreferenced small blobs to collect (default 100000)
  --blob-bytes N          size of each small blob (default 1024)
  --repos N               repositories the small blobs are spread over (default 10)
  --large-count N         unreferenced large blobs to collect (default 10)
  --large-mib N           size of each large blob in MiB (default 1024)
  --images N              most images pushed per push-rate measurement (default 2000)
  --clients N             concurrent pushing clients (default 8)
  --backlog N             unreferenced blobs collected while the clients push (default 20000)
  --grace-seconds N       ours' UploadGrace while the clients push (default 30; see README)
  --idle-wait N           before each phase, wait up to N s for other processes to leave the CPU (default 30)
  --keep                  keep the temporary directory (logs; data directories are emptied as the run goes)
EOF
}

ONLY=both
UPDATE=0
KEEP=0
SMALL_COUNT=100000
SMALL_BYTES=1024
REPOS=10
# Setup pushes only (not measured): enough in flight to keep both cores busy.
PUSH_CONCURRENCY=16
LARGE_COUNT=10
LARGE_MIB=1024
IMAGES=2000
CLIENTS=8
BACKLOG=20000
GRACE_SECONDS=30
IDLE_WAIT=30
ARGS="$*"

while [[ $# -gt 0 ]]; do
    case "$1" in
        --only) ONLY=$2; shift 2 ;;
        --update) UPDATE=1; shift ;;
        --keep) KEEP=1; shift ;;
        --quick) SMALL_COUNT=2000; LARGE_COUNT=1; LARGE_MIB=256; IMAGES=200; BACKLOG=2000; GRACE_SECONDS=10; IDLE_WAIT=0; shift ;;
        --small-blobs) SMALL_COUNT=$2; shift 2 ;;
        --blob-bytes) SMALL_BYTES=$2; shift 2 ;;
        --repos) REPOS=$2; shift 2 ;;
        --large-count) LARGE_COUNT=$2; shift 2 ;;
        --large-mib) LARGE_MIB=$2; shift 2 ;;
        --images) IMAGES=$2; shift 2 ;;
        --clients) CLIENTS=$2; shift 2 ;;
        --backlog) BACKLOG=$2; shift 2 ;;
        --grace-seconds) GRACE_SECONDS=$2; shift 2 ;;
        --idle-wait) IDLE_WAIT=$2; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "unknown option: $1" >&2; usage >&2; exit 2 ;;
    esac
done
case "$ONLY" in both|ours|reference) ;; *) echo "--only takes ours or reference" >&2; exit 2 ;; esac
[[ -x /usr/bin/time ]] || { echo "/usr/bin/time is missing (apt-get install time): it times the reference's collection" >&2; exit 1; }

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH_DIR=$ROOT/bench
OUT_DIR=$BENCH_DIR/out
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$OUT_DIR"
WORK=$(mktemp -d "${BENCH_TMPDIR:-/tmp}/registry-gc-bench.XXXXXX")
RESULTS=$WORK/results.tsv
META=$WORK/meta.tsv
: >"$RESULTS"
: >"$META"
TOOL_DLL=$BENCH_DIR/Registry.Bench/bin/Release/net10.0/Registry.Bench.dll
OURS_DIR=$ROOT/src/Registry.Api/bin/Release/net10.0
CLK_TCK=$(getconf CLK_TCK)
# Our registry's admin account, with a password made up for this run; it reaches the server and the bench tool
# through the environment, never a command line. The reference runs without authentication and is never sent it.
OURS_USER=admin
OURS_PASSWORD=$(openssl rand -hex 24)

STARTED_PIDS=()   # processes this script started, stopped in reverse order at exit
USED_PORTS=()
REF_PID='' REF_URL='' REF_DATA='' REF_CONFIG=$WORK/reference.yml
OURS_PID='' OURS_URL='' OURS_DATA=''
OURS_REALM='' OURS_SERVICE=''

# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

cleanup() {
    local status=$? i
    set +e
    trap - EXIT INT TERM
    for ((i = ${#STARTED_PIDS[@]} - 1; i >= 0; i--)); do
        stop_pid "${STARTED_PIDS[i]}" 30
    done
    if [[ $KEEP == 1 ]]; then
        # The data directories are large and say nothing the logs do not: only the logs are kept.
        rm -rf "$WORK"/ours-* "$WORK"/reference-* "$WORK/large.bin"
        log "kept $WORK"
    else
        rm -rf "$WORK"
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

want() { [[ $ONLY == both || $ONLY == "$1" ]]; }

# The bench tool, bounded by SECONDS, with the account it uses where a registry asks for a token.
tool() {
    local seconds=$1
    shift
    BENCH_REGISTRY_PASSWORD=$OURS_PASSWORD timeout "$seconds" dotnet "$TOOL_DLL" "$@" \
        --user "$OURS_USER" --password-env BENCH_REGISTRY_PASSWORD
}

# ---------------------------------------------------------------- servers

# Starts our registry on DATA with UploadGrace GRACE; collection runs only when asked (background worker off) and
# reviews are due at once (ReviewDelay 0). env execs dotnet, so $! is the server's pid.
start_ours() {
    local data=$1 grace=$2 port token code
    port=$(free_port)
    mkdir -p "$data"
    REGISTRY_ADMIN_PASSWORD=$OURS_PASSWORD env REGISTRY_DATA_DIR="$data" ASPNETCORE_ENVIRONMENT=Production \
        Logging__LogLevel__Default=Warning Logging__LogLevel__Microsoft.AspNetCore=Warning \
        Registry__Gc__ReviewDelay=00:00:00 Registry__Gc__UploadGrace="$grace" Registry__Gc__Background=false \
        dotnet "$OURS_DIR/Registry.Api.dll" --urls "http://127.0.0.1:$port" >>"$WORK/ours.log" 2>&1 &
    OURS_PID=$!
    STARTED_PIDS+=("$OURS_PID")
    if ! wait_for_http "http://127.0.0.1:$port/v2/" "$OURS_PID" 60; then
        tail -20 "$WORK/ours.log" >&2
        note ours "did not start on $data; its figures are missing"
        return 1
    fi
    # Ready means answering: without a token /v2/ is 401 with a Bearer challenge, with one 200.
    read_challenge "http://127.0.0.1:$port/v2/" || { note ours "GET /v2/ without a token gave no Bearer challenge"; return 1; }
    token=$(ours_token) || { note ours "no token from $OURS_REALM for user $OURS_USER"; return 1; }
    code=$(curl --noproxy '*' -s -o /dev/null -w '%{http_code}' --max-time 5 -H "Authorization: Bearer $token" "http://127.0.0.1:$port/v2/" || true)
    [[ $code == 200 ]] || { note ours "GET /v2/ with a token answered $code, not 200"; return 1; }
    OURS_DATA=$data
    OURS_URL=http://127.0.0.1:$port
    log "our registry pid $OURS_PID at $OURS_URL (UploadGrace $grace, data $data)"
}

stop_ours() {
    [[ -n $OURS_PID ]] && stop_pid "$OURS_PID" 30
    OURS_PID='' OURS_URL=''
}

# Starts the reference on DATA (filesystem storage, delete enabled), or again on the same DATA after a collection.
start_reference() {
    local data=$1 port
    port=$(free_port)
    mkdir -p "$data"
    cat >"$REF_CONFIG" <<EOF
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $data
  delete:
    enabled: true
  cache:
    blobdescriptor: inmemory
http:
  addr: 127.0.0.1:$port
  secret: bench-$RANDOM$RANDOM$RANDOM
EOF
    docker-registry serve "$REF_CONFIG" >>"$WORK/reference.log" 2>&1 &
    REF_PID=$!
    STARTED_PIDS+=("$REF_PID")
    if ! wait_for_http "http://127.0.0.1:$port/v2/" "$REF_PID" 30; then
        tail -20 "$WORK/reference.log" >&2
        note reference "did not start on $data; its figures are missing"
        return 1
    fi
    REF_DATA=$data
    REF_URL=http://127.0.0.1:$port
    log "reference registry pid $REF_PID at $REF_URL (data $data)"
}

stop_reference() {
    [[ -n $REF_PID ]] && stop_pid "$REF_PID" 30
    REF_PID='' REF_URL=''
}

# ---------------------------------------------------------------- what is on disk

# Committed blobs: ours keeps one file per blob under blobs/; the reference one `data` file per blob directory.
ours_blob_files() { find "$OURS_DATA/blobs" -type f 2>/dev/null | wc -l; }
ref_blob_files() { find "$REF_DATA/docker/registry/v2/blobs" -type f -name data 2>/dev/null | wc -l; }
# The reference's per-repository links to blobs (`_layers/.../link`), which its collection leaves behind.
ref_layer_links() { find "$REF_DATA/docker/registry/v2/repositories" -path '*/_layers/*' -type f -name link 2>/dev/null | wc -l; }

# Repositories ours still lists (the admin API's total) and the reference still has a directory for.
ours_repositories() {
    printf 'user = "%s:%s"\n' "$OURS_USER" "$OURS_PASSWORD" |
        curl --noproxy '*' -sf --max-time 30 -K - "$OURS_URL/api/v1/repositories?pageSize=1" |
        sed -n 's/.*"total" *: *\([0-9]*\).*/\1/p' | grep . || echo 0
}
ref_repositories() { find "$REF_DATA/docker/registry/v2/repositories" -type d -name _layers 2>/dev/null | wc -l; }

# ---------------------------------------------------------------- collection runs

# One run of ours through the admin API, with the blob files counted before and after. PREFIX names the figures.
collect_ours() {
    local prefix=$1 expect_blobs=$2 expect_bytes=$3
    sync
    record ours "${prefix}_files_before" "$(ours_blob_files)"
    busy_check "$prefix-gc-ours"
    log "ours: collection run ($prefix)"
    tool 3600 gc-run --base "$OURS_URL" --pid "$OURS_PID" --clk-tck "$CLK_TCK" --metric "${prefix}_gc" --label ours \
        --results "$RESULTS" --expect-blobs "$expect_blobs" --expect-bytes "$expect_bytes" ||
        note ours "$prefix collection run exited with status $?"
    record ours "${prefix}_files_after" "$(ours_blob_files)"
    record ours "info_${prefix}_upload_files_left" "$(find "$OURS_DATA/uploads" -type f 2>/dev/null | wc -l)"
    record ours "info_${prefix}_repositories_listed_after" "$(ours_repositories)"
}

# One offline run of the reference: its server is stopped first (it must not take pushes while it collects), and
# /usr/bin/time gives the command's wall time and CPU (user + system, children included).
collect_reference() {
    local prefix=$1 timing=$WORK/reference-gc-$1.time output=$WORK/reference-gc-$1.log wall='' user='' system='' eligible
    stop_reference
    sync
    record reference "${prefix}_files_before" "$(ref_blob_files)"
    record reference "info_${prefix}_layer_links_before" "$(ref_layer_links)"
    busy_check "$prefix-gc-reference"
    log "reference: docker-registry garbage-collect ($prefix), server stopped"
    if ! timeout 3600 /usr/bin/time -f '%e %U %S' -o "$timing" docker-registry garbage-collect "$REF_CONFIG" >"$output" 2>&1; then
        note reference "$prefix garbage-collect failed: $(tail -3 "$output" | tr '\n' ' ')"
    fi
    read -r wall user system < <(tail -1 "$timing" 2>/dev/null) || true
    if [[ $wall =~ ^[0-9.]+$ && $user =~ ^[0-9.]+$ && $system =~ ^[0-9.]+$ ]]; then
        record reference "${prefix}_gc_s" "$wall"
        record reference "${prefix}_gc_cpu_s" "$(calc "$user + $system")"
    else
        note reference "$prefix garbage-collect: no timing from /usr/bin/time"
    fi
    # Its summary line: "N blobs marked, M blobs and K manifests eligible for deletion".
    eligible=$(sed -n 's/.* blobs marked, \([0-9]*\) blobs and .*/\1/p' "$output" | tail -1)
    [[ -n $eligible ]] && record reference "info_${prefix}_gc_blobs" "$eligible"
    record reference "${prefix}_files_after" "$(ref_blob_files)"
    record reference "info_${prefix}_layer_links_after" "$(ref_layer_links)"
    record reference "info_${prefix}_repositories_left_after" "$(ref_repositories)"
}

# ---------------------------------------------------------------- phases

push_small() {
    local label=$1 base=$2
    log "$label: pushing $SMALL_COUNT blobs of $SMALL_BYTES bytes over $REPOS repositories, $PUSH_CONCURRENCY at once"
    tool 3600 push-blobs --base "$base" --repo-prefix gc/small- --repos "$REPOS" --count "$SMALL_COUNT" --bytes "$SMALL_BYTES" \
        --concurrency "$PUSH_CONCURRENCY" --metric small --label "$label" --results "$RESULTS"
}

push_large() {
    local label=$1 base=$2
    log "$label: pushing $LARGE_COUNT blobs of $LARGE_MIB MiB"
    tool 3600 push-large --base "$base" --repo gc/large --file "$WORK/large.bin" --count "$LARGE_COUNT" \
        --metric large --label "$label" --results "$RESULTS"
}

# Phase 1: ours first (its server, UploadGrace 0, stays up for phase 2), then the reference.
phase_small() {
    if want ours && start_ours "$WORK/ours-collect" 00:00:00; then
        if push_small ours "$OURS_URL"; then
            collect_ours small "$SMALL_COUNT" $((SMALL_COUNT * SMALL_BYTES))
        else
            note ours "pushing the small blobs failed; no small-blob collection"
        fi
    fi
    if want reference && start_reference "$WORK/reference-small"; then
        if push_small reference "$REF_URL"; then
            collect_reference small
        else
            note reference "pushing the small blobs failed; no small-blob collection"
        fi
        stop_reference
        rm -rf "$WORK/reference-small"
    fi
}

# Phase 2: the reference first this time. Each registry's large blobs are collected (and its data directory
# removed) before the other's are pushed, so they never sit on disk together.
phase_large() {
    if want reference && start_reference "$WORK/reference-large"; then
        if push_large reference "$REF_URL"; then
            collect_reference large
        else
            note reference "pushing the large blobs failed; no large-blob collection"
        fi
        stop_reference
        rm -rf "$WORK/reference-large"
    fi
    if want ours && [[ -n $OURS_URL ]]; then
        if push_large ours "$OURS_URL"; then
            collect_ours large "$LARGE_COUNT" $((LARGE_COUNT * (LARGE_MIB << 20)))
        else
            note ours "pushing the large blobs failed; no large-blob collection"
        fi
        stop_ours
        rm -rf "$WORK/ours-collect"
    fi
}

# Phase 3 for the reference: the push rate without collection. During collection it takes no pushes at all.
bench_reference_pushes() {
    start_reference "$WORK/reference-images" || return 0
    busy_check images-reference
    log "reference: $CLIENTS clients push up to $IMAGES small images"
    tool 1800 push-images --base "$REF_URL" --repo-prefix gc/images- --count "$IMAGES" --clients "$CLIENTS" \
        --metric alone --label reference --results "$RESULTS" --list "$WORK/reference-images.tsv" ||
        note reference "image pushes exited with status $?"
    note reference "no push rate during collection: garbage-collect runs with the server stopped (or read-only), so pushes fail until it ends"
    stop_reference
    rm -rf "$WORK/reference-images"
}

# Phase 3 for ours: a backlog of unreferenced blobs, the push rate without collection, then the push rate while a
# run collects the backlog. UploadGrace is not 0 here: it is what keeps the blobs of a push in progress (uploaded,
# manifest not yet put) from being collected under it. The run starts once the backlog is older than the grace.
bench_ours_pushes() {
    local list=$WORK/ours-images.tsv backlog_done kept wait
    start_ours "$WORK/ours-during" "$(printf '00:00:%02d' "$GRACE_SECONDS")" || return 0
    log "ours: pushing a backlog of $BACKLOG unreferenced blobs"
    if ! tool 3600 push-blobs --base "$OURS_URL" --repo-prefix gc/backlog- --repos "$REPOS" --count "$BACKLOG" --bytes "$SMALL_BYTES" \
        --concurrency "$PUSH_CONCURRENCY" --metric backlog --label ours --results "$RESULTS"; then
        note ours "pushing the backlog failed; no push rate during collection"
        stop_ours
        return 0
    fi
    backlog_done=$SECONDS
    busy_check images-ours
    log "ours: $CLIENTS clients push up to $IMAGES small images, no collection running"
    tool 1800 push-images --base "$OURS_URL" --repo-prefix gc/images- --count "$IMAGES" --clients "$CLIENTS" \
        --metric alone --label ours --results "$RESULTS" --list "$list" || note ours "image pushes exited with status $?"
    wait=$((backlog_done + GRACE_SECONDS + 2 - SECONDS))
    if ((wait > 0)); then
        log "ours: waiting ${wait}s for the backlog to leave its ${GRACE_SECONDS}s upload grace"
        sleep "$wait"
    fi
    sync
    record ours during_files_before "$(ours_blob_files)"
    busy_check images-during-gc-ours
    log "ours: $CLIENTS clients push up to $IMAGES small images while a run collects the backlog"
    tool 3600 push-images --base "$OURS_URL" --repo-prefix gc/images- --count "$IMAGES" --clients "$CLIENTS" \
        --metric during --label ours --results "$RESULTS" --list "$list" \
        --during-gc true --pid "$OURS_PID" --clk-tck "$CLK_TCK" --expect-blobs "$BACKLOG" ||
        note ours "image pushes during collection exited with status $?"
    # Every image has its own config and layer blob: those files must stay, the backlog's must go.
    kept=$(($(wc -l <"$list") * 2))
    record ours during_files_after "$(ours_blob_files)"
    record ours during_files_kept "$kept"
    log "ours: checking that the $((kept / 2)) images pushed are whole"
    tool 1800 verify-images --base "$OURS_URL" --list "$list" --metric images --label ours --results "$RESULTS" ||
        note ours "image check exited with status $?"
    stop_ours
    rm -rf "$WORK/ours-during"
}

# ---------------------------------------------------------------- main

log "work directory $WORK"
meta date "$(date -u '+%Y-%m-%d %H:%M UTC')"
commit=$(git -C "$ROOT" rev-parse -q --verify HEAD 2>/dev/null || echo 'no commit yet')
[[ -n $(git -C "$ROOT" status --porcelain 2>/dev/null | head -1) ]] && commit="$commit (with uncommitted changes)"
meta commit "$commit"
meta args "${ARGS:-(no options)}"
meta cpu "$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
meta cores "$(nproc)"
meta memory "$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
meta kernel "$(uname -r)"
meta dotnet "$(dotnet --version)"
meta reference_version "$(docker-registry --version 2>&1 | awk '{ print $NF }')"
meta small_count "$SMALL_COUNT"
meta small_bytes "$SMALL_BYTES"
meta small_repos "$REPOS"
meta large_count "$LARGE_COUNT"
meta large_mib "$LARGE_MIB"
meta image_clients "$CLIENTS"
meta image_count "$IMAGES"
meta backlog_count "$BACKLOG"
meta backlog_grace "${GRACE_SECONDS} s"
meta tmpdir "$(df -P "$WORK" | awk 'NR == 2 { print $1 }') ($(findmnt -n -o FSTYPE -T "$WORK" 2>/dev/null || echo '?'))"

build
meta loadavg_start "$(cut -d' ' -f1-3 /proc/loadavg)"
busy_check machine
log "writing a $LARGE_MIB MiB random file, the source of the large blobs"
timeout 300 dotnet "$TOOL_DLL" random-file --out "$WORK/large.bin" --mib "$LARGE_MIB"

phase_small
phase_large
rm -f "$WORK/large.bin"

want reference && bench_reference_pushes
want ours && bench_ours_pushes
meta loadavg_end "$(cut -d' ' -f1-3 /proc/loadavg)"

REPORT=$OUT_DIR/gc-$STAMP.md
cp "$RESULTS" "$OUT_DIR/gc-$STAMP.tsv"
dotnet "$TOOL_DLL" gc-report --results "$RESULTS" --meta "$META" --out "$REPORT"
if [[ $UPDATE == 1 ]]; then
    cp "$REPORT" "$BENCH_DIR/RESULTS-gc.md"
    log "wrote $BENCH_DIR/RESULTS-gc.md"
fi
log "report: $REPORT (total ${SECONDS}s)"
