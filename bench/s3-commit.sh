#!/usr/bin/env bash
# Times the commit of one large blob on the S3 blob store: our registry (SQLite + S3) against the benchmarks' S3 server
# (bench/s3-server.js), once as s3rver is (no UploadPartCopy: commit streams every part through the registry) and once
# with UploadPartCopy (parts copied inside the S3 server: what AWS S3, MinIO and Ceph do). The blob is staged with one
# PATCH, then committed with a PUT ?digest= and no body, so the two are timed apart.
#
#   bench/s3-commit.sh [--gib N] [--update] [--keep]
#
# Writes bench/out/s3-commit-<UTC timestamp>.md; with --update also bench/RESULTS-s3-commit.md. Loopback only.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BENCH_DIR=$ROOT/bench
GIB=5 UPDATE=0 KEEP=0
while (($#)); do
    case "$1" in
        --gib) GIB=$2; shift 2 ;;
        --update) UPDATE=1; shift ;;
        --keep) KEEP=1; shift ;;
        -h | --help) sed -n '2,9p' "$0"; exit 0 ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
done

WORK=$(mktemp -d "${BENCH_TMPDIR:-/tmp}/registry-s3-commit.XXXXXX")
RESULTS=$WORK/results.tsv META=$WORK/meta.tsv
STARTED_PIDS=() USED_PORTS=() IDLE_WAIT=30
OURS_USER=admin OURS_PASSWORD=$(openssl rand -hex 16)
OURS_DIR=$ROOT/src/Registry.Api/bin/Release/net10.0
S3RVER_MODULES=$ROOT/.tools/s3rver/node_modules
# shellcheck source=bench/lib.sh
. "$BENCH_DIR/lib.sh"
want() { [[ $1 == ours ]]; }

cleanup() {
    local i
    for ((i = ${#STARTED_PIDS[@]} - 1; i >= 0; i--)); do stop_pid "${STARTED_PIDS[i]}" 30; done
    ((KEEP)) && log "kept $WORK" || rm -rf "$WORK"
}
trap cleanup EXIT

[[ -x $S3RVER_MODULES/.bin/s3rver ]] || { echo "s3rver is missing: ./test.sh installs it (or npm install --prefix .tools/s3rver s3rver@3.7.1)" >&2; exit 1; }
build

# The blob: incompressible bytes, hashed once.
BLOB=$WORK/blob
log "writing a ${GIB} GiB blob"
# head ends the pipe early on purpose: openssl's SIGPIPE is not a failure.
{ openssl enc -aes-128-ctr -nosalt -pass pass:s3-commit </dev/zero 2>/dev/null || true; } | head -c $((GIB * 1024 * 1024 * 1024)) >"$BLOB"
DIGEST=sha256:$(sha256sum "$BLOB" | cut -d' ' -f1)
SIZE=$(stat -c %s "$BLOB")

vm_hwm_mib() { awk '/^VmHWM:/ { printf "%.0f", $2 / 1024 }' "/proc/$1/status"; }

measure() {
    local mode=$1 part_copy=$2 s3_port ours_port s3_pid ours_pid token location start staged committed t0 t1 c0 c1 code
    s3_port=$(free_port)
    mkdir -p "$WORK/$mode/s3"
    S3_SERVER_PART_COPY=$part_copy node "$BENCH_DIR/s3-server.js" "$S3RVER_MODULES" "$WORK/$mode/s3" "$s3_port" >"$WORK/$mode/s3.log" 2>&1 &
    s3_pid=$!
    STARTED_PIDS+=("$s3_pid")
    wait_for_http "http://127.0.0.1:$s3_port/" "$s3_pid" 30 || { cat "$WORK/$mode/s3.log" >&2; exit 1; }

    ours_port=$(free_port)
    REGISTRY_ADMIN_PASSWORD=$OURS_PASSWORD env REGISTRY_DATA_DIR="$WORK/$mode/data" ASPNETCORE_ENVIRONMENT=Production \
        Logging__LogLevel__Default=Warning Registry__Auth__TokenLifetime=02:00:00 \
        Registry__Storage__Provider=S3 Registry__Storage__S3__Endpoint="http://127.0.0.1:$s3_port" \
        Registry__Storage__S3__Bucket=commit Registry__Storage__S3__AccessKey=S3RVER Registry__Storage__S3__SecretKey=S3RVER \
        Registry__Storage__S3__ForcePathStyle=true \
        dotnet "$OURS_DIR/Registry.Api.dll" --urls "http://127.0.0.1:$ours_port" >"$WORK/$mode/ours.log" 2>&1 &
    ours_pid=$!
    STARTED_PIDS+=("$ours_pid")
    wait_for_http "http://127.0.0.1:$ours_port/v2/" "$ours_pid" 60 || { tail -20 "$WORK/$mode/ours.log" >&2; exit 1; }
    read_challenge "http://127.0.0.1:$ours_port/v2/"
    token=$(ours_token "repository:bench/big:pull,push")

    busy_check "$mode"
    location=$(curl --noproxy '*' -sf -D - -o /dev/null -X POST -H "Authorization: Bearer $token" \
        "http://127.0.0.1:$ours_port/v2/bench/big/blobs/uploads/" | tr -d '\r' | sed -n 's/^[Ll]ocation: *//p')
    [[ $location == /* ]] && location=http://127.0.0.1:$ours_port$location

    log "$mode: staging ${GIB} GiB with one PATCH"
    t0=$(now)
    code=$(curl --noproxy '*' -s -o /dev/null -D "$WORK/$mode/patch-headers" -w '%{http_code}' -X PATCH -T "$BLOB" \
        -H "Authorization: Bearer $token" -H 'Content-Type: application/octet-stream' "$location")
    t1=$(now)
    [[ $code == 202 ]] || { note "$mode" "PATCH answered $code"; return 0; }
    staged=$(calc "$t1 - $t0")
    # The upload continues at the Location of the last answer.
    location=$(tr -d '\r' <"$WORK/$mode/patch-headers" | sed -n 's/^[Ll]ocation: *//p')
    [[ $location == /* ]] && location=http://127.0.0.1:$ours_port$location

    log "$mode: commit (PUT ?digest=, no body)"
    local separator='?'
    [[ $location == *\?* ]] && separator='&'
    c0=$(pid_ticks "$ours_pid")
    t0=$(now)
    code=$(curl --noproxy '*' -s -o /dev/null -w '%{http_code}' -X PUT -H "Authorization: Bearer $token" -H 'Content-Length: 0' \
        "$location${separator}digest=$DIGEST")
    t1=$(now)
    c1=$(pid_ticks "$ours_pid")
    [[ $code == 201 ]] || { note "$mode" "commit answered $code"; return 0; }
    committed=$(calc "$t1 - $t0")

    # The committed blob is whole: its size from a HEAD, and its digest from reading it back.
    local head_size back
    head_size=$(curl --noproxy '*' -sfI -H "Authorization: Bearer $token" "http://127.0.0.1:$ours_port/v2/bench/big/blobs/$DIGEST" |
        tr -d '\r' | sed -n 's/^[Cc]ontent-[Ll]ength: *//p')
    back=sha256:$(curl --noproxy '*' -sf -H "Authorization: Bearer $token" "http://127.0.0.1:$ours_port/v2/bench/big/blobs/$DIGEST" | sha256sum | cut -d' ' -f1)
    [[ $head_size == "$SIZE" && $back == "$DIGEST" ]] || note "$mode" "read back $head_size bytes with digest $back"

    record "$mode" staging_s "$staged"
    record "$mode" staging_mbps "$(calc "$SIZE / $staged / 1e6")"
    record "$mode" commit_s "$committed"
    record "$mode" commit_cpu_s "$(calc "($c1 - $c0) / $(getconf CLK_TCK)")"
    record "$mode" peak_working_set_mib "$(vm_hwm_mib "$ours_pid")"
    stop_pid "$ours_pid" 30
    stop_pid "$s3_pid" 30
    rm -rf "$WORK/$mode/s3"
}

meta started "$(date -u '+%Y-%m-%d %H:%M UTC')"
meta commit "$(git -C "$ROOT" rev-parse HEAD)"
meta blob "$GIB GiB ($SIZE bytes), one PATCH, 8 MiB parts (Registry:Storage:S3:PartSize default)"
meta s3_server "s3rver $(cd "$ROOT/.tools/s3rver" && node -p 'require("s3rver/package.json").version') on Node.js $(node --version), data on $(df --output=source "$WORK" | tail -1)"
meta load_average_start "$(cut -d' ' -f1-3 /proc/loadavg)"
measure streamed 0
measure part-copy 1
meta load_average_end "$(cut -d' ' -f1-3 /proc/loadavg)"

value() { awk -F'\t' -v l="$1" -v m="$2" '$1 == l && $2 == m { printf "%.1f", $3 }' "$RESULTS"; }
mkdir -p "$BENCH_DIR/out"
REPORT=$BENCH_DIR/out/s3-commit-$(date -u +%Y%m%dT%H%M%SZ).md
{
    echo "# Commit of a ${GIB} GiB blob on the S3 blob store"
    echo
    echo "Run $(awk -F'\t' '$1 == "started" { print $2 }' "$META") on commit \`$(awk -F'\t' '$1 == "commit" { print $2 }' "$META")\`, by \`bench/s3-commit.sh\`."
    echo "Our registry on SQLite and S3 (bench/s3-server.js on 127.0.0.1). The blob is staged with one PATCH, then committed"
    echo "with a PUT ?digest= without a body; the PUT's time is the commit. \"streamed\": the S3 server has no UploadPartCopy"
    echo "(s3rver as it is), so each part is read from S3 and written back through the registry. \"part-copy\": the same"
    echo "server with UploadPartCopy, the copy made on the server's disk, as S3, MinIO and Ceph do inside their storage."
    echo
    echo "| | streamed | part-copy |"
    echo "| --- | ---: | ---: |"
    echo "| staging, one PATCH (s) | $(value streamed staging_s) | $(value part-copy staging_s) |"
    echo "| staging (MB/s) | $(value streamed staging_mbps) | $(value part-copy staging_mbps) |"
    echo "| commit, PUT without body (s) | $(value streamed commit_s) | $(value part-copy commit_s) |"
    echo "| registry CPU during the commit (CPU-s) | $(value streamed commit_cpu_s) | $(value part-copy commit_cpu_s) |"
    echo "| registry peak working set (MiB) | $(value streamed peak_working_set_mib) | $(value part-copy peak_working_set_mib) |"
    echo
    echo "| fact | value |"
    echo "| --- | --- |"
    awk -F'\t' '{ printf "| %s | %s |\n", $1, $2 }' "$META"
    grep -P '\tnote\t' "$RESULTS" | awk -F'\t' '{ printf "\nNOTE %s: %s\n", $1, $3 }' || true
    echo
    echo "Other processes' CPU use just before each phase (percent): $(awk -F'\t' '$2 ~ /^info_other_cpu_percent_before_/ { sub("info_other_cpu_percent_before_", "", $2); printf "%s %s; ", $2, $3 }' "$RESULTS")"
} >"$REPORT"
cat "$REPORT"
((UPDATE)) && cp "$REPORT" "$BENCH_DIR/RESULTS-s3-commit.md"
exit 0
