#!/usr/bin/env bash
# Runs every test of the solution on a Debian 12 machine with the .NET 10 SDK, as root:
# installs the Debian packages the tests use, starts a Docker engine if none runs, builds the
# local test images once per machine, builds the solution and runs all test projects.
# The last line of output is "N passed, N failed, N skipped" over all test projects.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$ROOT"

DEBIAN_IMAGE=registry-test/debian:bookworm
POSTGRES_IMAGE=registry-test/postgres:15
POSTGRES_CONTEXT=tests/images/postgres
RESULTS_DIR="$ROOT/TestResults/test.sh"
WORK_DIR="$(mktemp -d /tmp/registry-test-sh.XXXXXX)"

# Testcontainers: Ryuk's image cannot be pulled here (containers are removed below instead),
# dockerd 20.10 speaks API 1.41 at most, and containers are reached on 127.0.0.1.
export TESTCONTAINERS_RYUK_DISABLED=true
export DOCKER_API_VERSION=1.41
export TESTCONTAINERS_HOST_OVERRIDE=127.0.0.1
export DOTNET_CLI_TELEMETRY_OPTOUT=1
export DOTNET_NOLOGO=1

log() { printf '[test.sh] %s\n' "$*" >&2; }

STARTED_DOCKERD_PID=""
# Names this run's test containers, so that clean-up removes only those.
export REGISTRY_TEST_RUN="test-sh-$(date +%s)-$$-$RANDOM"

cleanup() {
    local status=$?
    set +e
    if docker_answers; then
        # Only the test containers of this run (tests/Registry.Testing/PostgresServer.cs labels
        # them with REGISTRY_TEST_RUN): another run may share the engine.
        local id
        for id in $(docker ps -aq --no-trunc --filter "label=registry.test-run=$REGISTRY_TEST_RUN" 2>/dev/null); do
            docker rm -f "$id" >/dev/null 2>&1
        done
    fi
    # Silent from here on: the summary must stay the last line of output.
    if [ -n "$STARTED_DOCKERD_PID" ]; then
        kill -TERM "$STARTED_DOCKERD_PID" 2>/dev/null
        local i
        for i in $(seq 1 30); do
            kill -0 "$STARTED_DOCKERD_PID" 2>/dev/null || break
            sleep 1
        done
        kill -KILL "$STARTED_DOCKERD_PID" 2>/dev/null
    fi
    rm -rf "$WORK_DIR"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

docker_answers() {
    command -v docker >/dev/null 2>&1 && timeout 20 docker info >/dev/null 2>&1
}

# --- Debian packages ------------------------------------------------------------------------

package_installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

install_packages() {
    local missing=() package
    for package in docker.io containerd skopeo podman docker-registry busybox-static debootstrap gcc libc6-dev libseccomp-dev chromium docker-compose jq systemd; do
        package_installed "$package" || missing+=("$package")
    done
    # The commands themselves, in case a package was removed without being purged.
    command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
    [ -x /bin/busybox ] || missing+=(busybox-static)
    [ -x /usr/bin/docker-registry ] || missing+=(docker-registry)
    # registry-node's build compiles its container init helper (src/Registry.Node/native/rn-init.c).
    command -v gcc >/dev/null 2>&1 || missing+=(gcc libc6-dev)
    # ... and links it with libseccomp (the containers' seccomp filter).
    [ -e /usr/include/seccomp.h ] || missing+=(libseccomp-dev)
    # The web UI's tests drive Debian's Chromium with Playwright (no browser download).
    [ -x /usr/bin/chromium ] || missing+=(chromium)
    # The deployment files' tests validate docker-compose.yml and the node agent's systemd unit;
    # README's examples (run by a test) read the API's answers with jq.
    command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
    command -v jq >/dev/null 2>&1 || missing+=(jq)
    command -v systemd-analyze >/dev/null 2>&1 || missing+=(systemd)
    # The S3 blob store's tests run s3rver, an npm package (install_s3rver).
    command -v node >/dev/null 2>&1 || missing+=(nodejs)
    command -v npm >/dev/null 2>&1 || missing+=(npm)
    if [ "${#missing[@]}" -gt 0 ]; then
        log "installing: ${missing[*]}"
        apt-get update
        DEBIAN_FRONTEND=noninteractive apt-get install -y $(printf '%s\n' "${missing[@]}" | sort -u)
    fi
}

# --- S3 server for the S3 blob store's tests ------------------------------------------------

# tests/Registry.Testing/S3Server.cs starts .tools/s3rver/node_modules/.bin/s3rver (kept out of git).
S3RVER_DIR="$ROOT/.tools/s3rver"

install_s3rver() {
    if [ -x "$S3RVER_DIR/node_modules/.bin/s3rver" ]; then
        return
    fi
    log "installing s3rver into $S3RVER_DIR"
    mkdir -p "$S3RVER_DIR"
    timeout 600 npm install --prefix "$S3RVER_DIR" --no-audit --no-fund s3rver@3.7.1 >"$WORK_DIR/npm-s3rver.log" 2>&1 || {
        tail -n 50 "$WORK_DIR/npm-s3rver.log" >&2
        return 1
    }
}

# --- Docker engine --------------------------------------------------------------------------

start_docker() {
    if docker_answers; then
        log "using the Docker engine that is already running"
        return
    fi
    local daemon_log="$ROOT/TestResults/dockerd.log"
    mkdir -p "$ROOT/TestResults"
    log "starting dockerd (log: $daemon_log)"
    dockerd --iptables=false --bridge=none >"$daemon_log" 2>&1 &
    STARTED_DOCKERD_PID=$!
    local i
    for i in $(seq 1 60); do
        if [ -S /var/run/docker.sock ] && docker_answers; then
            return
        fi
        if ! kill -0 "$STARTED_DOCKERD_PID" 2>/dev/null; then
            break
        fi
        sleep 1
    done
    log "dockerd did not come up; its log:"
    tail -n 50 "$daemon_log" >&2 || true
    return 1
}

# --- Test images ----------------------------------------------------------------------------

# The Debian mirror apt uses here (one-line or deb822 sources), for debootstrap.
debian_mirror() {
    local mirror
    mirror=$( { cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null || true; } \
        | sed -e 's/\[[^]]*\]//' \
        | awk '$1 == "deb" && $3 == "bookworm" { print $2; exit }')
    if [ -z "$mirror" ]; then
        mirror=$( { cat /etc/apt/sources.list.d/*.sources 2>/dev/null || true; } | awk '
            BEGIN { RS = "" }
            /Suites:[^\n]*[ \t]bookworm([ \t\n]|$)/ && /Types:[^\n]*deb([ \t\n]|$)/ {
                if (match($0, /URIs:[ \t]*[^ \t\n]+/)) {
                    uri = substr($0, RSTART, RLENGTH); sub(/URIs:[ \t]*/, "", uri); print uri; exit
                }
            }')
    fi
    echo "${mirror:-http://deb.debian.org/debian}"
}

image_exists() {
    docker image inspect "$1" >/dev/null 2>&1
}

build_images() {
    if ! image_exists "$DEBIAN_IMAGE"; then
        local mirror rootfs="$WORK_DIR/rootfs"
        mirror="$(debian_mirror)"
        log "building $DEBIAN_IMAGE with debootstrap from $mirror"
        timeout 900 debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$WORK_DIR/debootstrap.log" 2>&1 || {
            tail -n 50 "$WORK_DIR/debootstrap.log" >&2
            return 1
        }
        tar -C "$rootfs" -c . | docker import - "$DEBIAN_IMAGE" >/dev/null
        rm -rf "$rootfs"
    fi

    # Rebuilt when its sources change, otherwise kept: the label records what it was built from.
    local source_hash current
    source_hash="$(cat "$POSTGRES_CONTEXT"/* | sha256sum | cut -d' ' -f1)"
    current="$(docker image inspect -f '{{index .Config.Labels "registry-test.source-sha256"}}' "$POSTGRES_IMAGE" 2>/dev/null || true)"
    if [ "$current" != "$source_hash" ]; then
        log "building $POSTGRES_IMAGE"
        timeout 900 docker build --network host --label "registry-test.source-sha256=$source_hash" \
            -t "$POSTGRES_IMAGE" "$POSTGRES_CONTEXT" >"$WORK_DIR/postgres-build.log" 2>&1 || {
            tail -n 50 "$WORK_DIR/postgres-build.log" >&2
            return 1
        }
    fi
}

# --- Build and test -------------------------------------------------------------------------

# Sums the per-assembly summary lines of dotnet test ("Passed!  - Failed: 0, Passed: 68, Skipped: 0,
# Total: 68, ...") into "N passed, N failed, N skipped". The trx files stay for reading.
summarize() {
    sed -e 's/\x1b\[[0-9;]*m//g' "$1" \
        | sed -n 's/^ *\(Passed\|Failed\)! *- *Failed: *\([0-9]*\), *Passed: *\([0-9]*\), *Skipped: *\([0-9]*\),.*/\2 \3 \4/p' \
        | awk '{ f += $1; p += $2; s += $3 } END { printf "%d passed, %d failed, %d skipped\n", p, f, s }'
}

install_packages
install_s3rver
start_docker
build_images

rm -rf "$RESULTS_DIR"
mkdir -p "$RESULTS_DIR"

log "dotnet build Registry.sln -c Release"
if ! dotnet build Registry.sln -c Release; then
    log "the build failed"
    echo "0 passed, 0 failed, 0 skipped"
    exit 1
fi

log "dotnet test Registry.sln -c Release --no-build"
# A hung test host is dumped and killed instead of holding the run.
set +e
dotnet test Registry.sln -c Release --no-build \
    --logger trx --results-directory "$RESULTS_DIR" \
    --blame-hang-timeout 15m 2>&1 | tee "$RESULTS_DIR/dotnet-test.log"
test_status=${PIPESTATUS[0]}
set -e

summary="$(summarize "$RESULTS_DIR/dotnet-test.log")"
failed_count="$(sed -n 's/.*passed, \([0-9]*\) failed.*/\1/p' <<<"$summary")"
if [ "$test_status" -ne 0 ] && [ "$failed_count" -eq 0 ]; then
    log "dotnet test exited with $test_status although no test failed (a test host crashed or a project did not run)"
fi
echo "$summary"
if [ "$test_status" -ne 0 ] || [ "$failed_count" -ne 0 ]; then
    exit 1
fi
