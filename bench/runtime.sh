#!/usr/bin/env bash
# The node runtime's benchmark (issue 5): start-to-exit of /bin/true in a cached busybox image
# (registry-node run vs runc, crun, docker run and a bare unshare+chroot floor) and pull + unpack
# of a ~200 MB 3-layer image from our registry (registry-node pull vs skopeo + umoci vs docker pull).
# bench/README.md describes what it needs and does; --help lists the options.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
REPS=20
ROUNDS=3
UPDATE=0
KEEP=0
AOT=1
ONLY=all
FILES=10000
MEGABYTES=200

usage() {
    cat <<EOF
usage: bench/runtime.sh [options]
  --reps N       start-to-exit runs per tool, after 2 unrecorded warm-ups (default $REPS)
  --rounds N     pull rounds per tool, each with a fresh image variant (default $ROUNDS)
  --only start|pull   one of the two benchmarks
  --no-aot       do not publish registry-node with NativeAOT (saves about 2 minutes)
  --small        pull a 20 MB image of 1,000 files (checks the harness)
  --update       also write bench/RESULTS-runtime.md
  --keep         keep the temp dir (logs, images, bundles)
EOF
}

while (($#)); do
    case $1 in
        --reps) REPS=$2; shift ;;
        --rounds) ROUNDS=$2; shift ;;
        --only) ONLY=$2; shift ;;
        --no-aot) AOT=0 ;;
        --small) FILES=1000; MEGABYTES=20 ;;
        --update) UPDATE=1 ;;
        --keep) KEEP=1 ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; exit 2 ;;
    esac
    shift
done
[[ $ONLY == all || $ONLY == start || $ONLY == pull ]] || { usage >&2; exit 2; }
[[ $(id -u) == 0 ]] || { echo "run as root (namespaces, runc, crun, dockerd)" >&2; exit 1; }

log() { printf '[%(%H:%M:%S)T] %s\n' -1 "$*" >&2; }

for pkg in crun umoci; do
    command -v "$pkg" >/dev/null || { log "installing $pkg"; DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$pkg" >/dev/null; }
done
for tool in dotnet docker runc crun umoci skopeo gcc python3 unshare chroot curl openssl ss sha256sum gzip; do
    command -v "$tool" >/dev/null || { echo "$tool is missing" >&2; exit 1; }
done
[[ -x /bin/busybox ]] || { echo "/bin/busybox is missing: apt-get install busybox-static" >&2; exit 1; }
docker info >/dev/null 2>&1 || { echo "no Docker engine answers" >&2; exit 1; }

WORK=$(mktemp -d /tmp/rn-runtime-bench.XXXXXX)
STARTED_PIDS=()
DOCKER_IMAGES=()
cleanup() {
    local status=$? pid
    for pid in "${STARTED_PIDS[@]}"; do kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true; done
    ((${#DOCKER_IMAGES[@]})) && docker rmi -f "${DOCKER_IMAGES[@]}" >/dev/null 2>&1 || true
    if ((KEEP)); then log "kept $WORK"; else rm -rf "$WORK"; fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)

# --- Build -------------------------------------------------------------------------------------
log "building Registry.Api and Registry.Node (Release)"
dotnet build "$REPO/src/Registry.Api" -c Release -v q -nologo >"$WORK/build.log" 2>&1 || { tail -30 "$WORK/build.log"; exit 1; }
dotnet build "$REPO/src/Registry.Node" -c Release -v q -nologo >>"$WORK/build.log" 2>&1 || { tail -30 "$WORK/build.log"; exit 1; }
NODE=$REPO/src/Registry.Node/bin/Release/net10.0/registry-node
API_DLL=$REPO/src/Registry.Api/bin/Release/net10.0/Registry.Api.dll
NODE_AOT=
AOT_NOTE="not built (--no-aot)"
if ((AOT)) && [[ $ONLY != pull ]]; then
    log "publishing registry-node with NativeAOT"
    # A linux-x64 publish builds under obj/Release/net10.0/linux-x64, beside the normal build.
    if dotnet publish "$REPO/src/Registry.Node" -c Release -r linux-x64 -p:PublishAot=true \
        -o "$WORK/aot" -nologo >"$WORK/aot.log" 2>&1; then
        NODE_AOT=$WORK/aot/registry-node
        AOT_NOTE="built: $(grep -oE 'warning [A-Z]+[0-9]+[^[]*' "$WORK/aot.log" | sort -u | wc -l) distinct warnings, binary $(du -m "$NODE_AOT" | cut -f1) MB"
    else
        AOT_NOTE="publish failed: $(grep -m1 -E 'error' "$WORK/aot.log" || tail -1 "$WORK/aot.log")"
    fi
    log "NativeAOT: $AOT_NOTE"
fi

# A timer that forks and execs its arguments once, output to /dev/null, and prints the wall time
# from fork to the child's exit in ms: no shell or date process in the measured interval.
cat >"$WORK/tm.c" <<'EOF'
#include <stdio.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>
int main(int argc, char **argv) {
    struct timespec a, b;
    int status;
    if (argc < 2) return 2;
    clock_gettime(CLOCK_MONOTONIC, &a);
    pid_t pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR);
        dup2(null, 0); dup2(null, 1);
        execvp(argv[1], argv + 1);
        _exit(127);
    }
    waitpid(pid, &status, 0);
    clock_gettime(CLOCK_MONOTONIC, &b);
    printf("%.3f\n", (b.tv_sec - a.tv_sec) * 1e3 + (b.tv_nsec - a.tv_nsec) / 1e6);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
EOF
gcc -O2 -o "$WORK/tm" "$WORK/tm.c"
TM=$WORK/tm

median() { sort -g | awk '{v[NR]=$1} END {if (NR == 0) print "-"; else if (NR % 2) printf "%.1f\n", v[(NR+1)/2]; else printf "%.1f\n", (v[NR/2]+v[NR/2+1])/2}'; }
# "met (x0.62)" when A/B is at most LIMIT.
verdict() { local r; r=$(ratio "$1" "$2"); awk -v r="$r" -v l="$3" 'BEGIN {printf "%s (x%s)", (r != "-" && r <= l) ? "met" : "not met", r}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (a == "-" || b == "-" || b == 0) print "-"; else printf "%.2f\n", a/b}'; }

# --- Our registry, with Docker token authentication ----------------------------------------------
free_port() {
    local port
    for _ in $(seq 100); do
        port=$((20000 + RANDOM % 40000))
        [[ -z $(ss -Hltn "sport = :$port") ]] && { echo "$port"; return 0; }
    done
    return 1
}
PORT=$(free_port)
PASSWORD=$(openssl rand -hex 16)
mkdir -p "$WORK/registry-data" "$WORK/docker"
REGISTRY_ADMIN_PASSWORD=$PASSWORD env REGISTRY_DATA_DIR="$WORK/registry-data" ASPNETCORE_ENVIRONMENT=Production \
    Logging__LogLevel__Default=Warning Registry__Auth__TokenLifetime=01:00:00 \
    dotnet "$API_DLL" --urls "http://127.0.0.1:$PORT" >"$WORK/registry.log" 2>&1 &
STARTED_PIDS+=("$!")
HOST=127.0.0.1:$PORT
for _ in $(seq 120); do
    [[ $(curl --noproxy '*' -s -o /dev/null -w '%{http_code}' "http://$HOST/v2/" || true) == 401 ]] && break
    sleep 0.5
done
# One docker config for every client: docker, registry-node (DOCKER_CONFIG) and skopeo (--authfile).
export DOCKER_CONFIG=$WORK/docker
docker login "$HOST" -u admin --password-stdin <<<"$PASSWORD" >/dev/null 2>&1 || { tail -20 "$WORK/registry.log"; exit 1; }
log "our registry at $HOST (pid ${STARTED_PIDS[0]})"

# --- 1. Start-to-exit ------------------------------------------------------------------------------
declare -A START_MEDIAN START_RUNS
START_TOOLS=()
run_start_benchmark() {
    local rootfs=$WORK/busybox-rootfs image=$HOST/bench/busybox:latest applet
    # As the tests' images are made (tests/Registry.Testing/Images/TestImages.cs): busybox-static and its applet links.
    mkdir -p "$rootfs/bin" "$rootfs/proc" "$rootfs/dev" "$rootfs/sys" "$rootfs/tmp"
    cp /bin/busybox "$rootfs/bin/busybox"
    for applet in $(/bin/busybox --list); do [[ $applet == busybox ]] || ln -sf busybox "$rootfs/bin/$applet"; done
    tar -C "$rootfs" -c . | docker import -c 'ENV PATH=/bin' -c 'CMD ["sh"]' - "$image" >/dev/null
    DOCKER_IMAGES+=("$image")
    docker push "$image" >"$WORK/busybox-push.log" 2>&1
    "$NODE" --root "$WORK/node" pull "$image" >"$WORK/busybox-pull.log" 2>&1

    # One OCI bundle for runc and crun: `runc spec`, no terminal, /bin/true; the rootfs is read-only as runc spec makes it.
    mkdir -p "$WORK/bundle"
    cp -a "$rootfs" "$WORK/bundle/rootfs"
    (cd "$WORK/bundle" && runc spec)
    python3 - "$WORK/bundle/config.json" <<'EOF'
import json, sys
path = sys.argv[1]
spec = json.load(open(path))
spec["process"]["terminal"] = False
spec["process"]["args"] = ["/bin/true"]
json.dump(spec, open(path, "w"), indent=2)
EOF
    mkdir -p "$WORK/runc-state" "$WORK/crun-state"

    local -A cmd
    cmd[registry-node]="$NODE --root $WORK/node run --rm --network none $image /bin/true"
    [[ -n $NODE_AOT ]] && cmd[registry-node-aot]="$NODE_AOT --root $WORK/node run --rm --network none $image /bin/true"
    cmd[runc]="runc --root $WORK/runc-state run -b $WORK/bundle bench-runc"
    # crun refuses the hybrid cgroup layout while /sys/fs/cgroup/unified is mounted (ENVIRONMENT.md):
    # a private mount namespace without it. The wrapper alone is measured too.
    cmd[crun]="unshare -m sh -c 'umount /sys/fs/cgroup/unified && exec crun --root $WORK/crun-state run -b $WORK/bundle bench-crun'"
    cmd[crun-wrapper-alone]="unshare -m sh -c 'umount /sys/fs/cgroup/unified && exec true'"
    cmd[docker]="docker run --rm --network none $image /bin/true"
    cmd[floor]="unshare -p -m -u -i -n -f chroot $rootfs /bin/true"
    cmd[registry-node --version]="$NODE --version"
    [[ -n $NODE_AOT ]] && cmd[registry-node-aot --version]="$NODE_AOT --version"
    START_TOOLS=(registry-node)
    [[ -n $NODE_AOT ]] && START_TOOLS+=(registry-node-aot)
    START_TOOLS+=(runc crun crun-wrapper-alone docker floor "registry-node --version")
    [[ -n $NODE_AOT ]] && START_TOOLS+=("registry-node-aot --version")
    # The bash -c the harness puts in front of every command, timed in the same turns and subtracted.
    cmd[harness]=true
    START_TOOLS+=(harness)

    local tool rep i n=${#START_TOOLS[@]} ms
    for tool in "${START_TOOLS[@]}"; do
        # Each must work before it is timed: a failing tool would be timed failing fast.
        if ! bash -c "${cmd[$tool]}" >"$WORK/check.log" 2>&1; then
            log "$tool fails: $(head -3 "$WORK/check.log")"; exit 1
        fi
        : >"$WORK/start-$tool.txt"
    done
    log "start-to-exit: 2 warm-ups + $REPS runs of ${n} commands, taking turns"
    for ((rep = -2; rep < REPS; rep++)); do
        # The order rotates each repetition, so a burst of other load does not hit one tool only.
        for ((i = 0; i < n; i++)); do
            tool=${START_TOOLS[$(((i + rep + 2) % n))]}
            ms=$("$TM" bash -c "exec ${cmd[$tool]}" 2>>"$WORK/start-errors.log") || { log "$tool failed in rep $rep"; exit 1; }
            ((rep >= 0)) && echo "$ms" >>"$WORK/start-$tool.txt"
        done
    done
    SHELL_MS=$(median <"$WORK/start-harness.txt")
    for tool in "${START_TOOLS[@]}"; do
        START_MEDIAN[$tool]=$(median <"$WORK/start-$tool.txt")
        [[ $tool == harness ]] || START_MEDIAN[$tool]=$(awk -v m="${START_MEDIAN[$tool]}" -v s="$SHELL_MS" 'BEGIN {printf "%.1f", m - s}')
        START_RUNS[$tool]=$(tr '\n' ' ' <"$WORK/start-$tool.txt")
        log "  $tool: ${START_MEDIAN[$tool]} ms"
    done
}

# --- 2. Pull + unpack --------------------------------------------------------------------------------
declare -A PULL_RUNS PULL_MEDIAN
PULL_TOOLS=(registry-node skopeo+umoci docker)
IMAGE_NOTE=
make_image_content() {
    # FILES files in 3 layers totalling MEGABYTES MB: per layer, half the bytes random, half text of
    # words from a small vocabulary (gzip makes that about a quarter of its size). Sizes vary 1x-3x.
    python3 - "$WORK/content" "$FILES" "$MEGABYTES" <<'EOF'
import os, random, sys
root, files, megabytes = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(5)
words = [''.join(rng.choice('abcdefghijklmnopqrstuvwxyz') for _ in range(rng.randint(2, 9))) for _ in range(2000)]
per_layer = files // 3
mean = megabytes * 1024 * 1024 // files
for layer in range(3):
    for i in range(per_layer + (files % 3 if layer == 2 else 0)):
        d = os.path.join(root, f"layer{layer}", "data", f"d{i // 100:03d}")
        os.makedirs(d, exist_ok=True)
        size = int(mean * rng.uniform(0.5, 1.5))
        if i % 2:
            data = os.urandom(size)
        else:
            text = []
            n = 0
            while n < size:
                w = rng.choice(words)
                text.append(w)
                n += len(w) + 1
            data = ' '.join(text).encode()[:size]
        with open(os.path.join(d, f"f{i:05d}.{'bin' if i % 2 else 'txt'}"), "wb") as f:
            f.write(data)
EOF
}

# Writes an OCI image layout for variant V (a different /variant file in each layer, so every layer
# digest is new and no client has any of it) and pushes it with skopeo: docker never sees it before its pull.
push_variant() {
    local v=$1 dir=$WORK/variant$v layer diffs=() layers=() sizes=() blob diff size config manifest
    mkdir -p "$dir/blobs/sha256" "$dir/extra"
    for layer in 0 1 2; do
        openssl rand -hex 32 >"$dir/extra/variant"
        tar -C "$WORK/content/layer$layer" --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -cf "$dir/layer.tar" . \
            -C "$dir/extra" variant
        diff=$(sha256sum "$dir/layer.tar" | cut -d' ' -f1)
        gzip -6 -n -c "$dir/layer.tar" >"$dir/layer.tar.gz"
        blob=$(sha256sum "$dir/layer.tar.gz" | cut -d' ' -f1)
        size=$(stat -c %s "$dir/layer.tar.gz")
        mv "$dir/layer.tar.gz" "$dir/blobs/sha256/$blob"
        diffs+=("\"sha256:$diff\""); layers+=("$blob"); sizes+=("$size")
    done
    rm -f "$dir/layer.tar"
    printf '{"architecture":"amd64","os":"linux","config":{"Env":["PATH=/bin"],"Cmd":["sh"]},"rootfs":{"type":"layers","diff_ids":[%s]}}' \
        "$(IFS=,; echo "${diffs[*]}")" >"$dir/config.json"
    config=$(sha256sum "$dir/config.json" | cut -d' ' -f1)
    mv "$dir/config.json" "$dir/blobs/sha256/$config"
    {
        printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[' \
            "$config" "$(stat -c %s "$dir/blobs/sha256/$config")"
        for layer in 0 1 2; do
            ((layer)) && printf ','
            printf '{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:%s","size":%s}' "${layers[$layer]}" "${sizes[$layer]}"
        done
        printf ']}'
    } >"$dir/manifest.json"
    manifest=$(sha256sum "$dir/manifest.json" | cut -d' ' -f1)
    printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"v%s"}}]}' \
        "$manifest" "$(stat -c %s "$dir/manifest.json")" "$v" >"$dir/index.json"
    mv "$dir/manifest.json" "$dir/blobs/sha256/$manifest"
    echo '{"imageLayoutVersion":"1.0.0"}' >"$dir/oci-layout"
    skopeo copy -q --authfile "$DOCKER_CONFIG/config.json" --dest-tls-verify=false "oci:$dir:v$v" "docker://$HOST/bench/big:v$v" >/dev/null
    IMAGE_NOTE="3 gzip layers, $(awk '{s+=$1} END {printf "%.0f", s/1048576}' <<<"$(printf '%s\n' "${sizes[@]}")") MB compressed, $(du -sm --apparent-size "$WORK/content" | cut -f1) MB and $(find "$WORK/content" -type f | wc -l) files unpacked"
    rm -rf "$dir"
}

pull_once() {
    local tool=$1 v=$2 ref=$HOST/bench/big:v$2 start end
    sync
    start=$(date +%s%N)
    case $tool in
        registry-node) "$NODE" --root "$WORK/pull-node-$v" pull "$ref" >>"$WORK/pull.log" 2>&1 ;;
        skopeo+umoci)
            skopeo copy -q --authfile "$DOCKER_CONFIG/config.json" --src-tls-verify=false "docker://$ref" "oci:$WORK/pull-oci-$v:img" >>"$WORK/pull.log" 2>&1
            umoci unpack --image "$WORK/pull-oci-$v:img" "$WORK/pull-umoci-$v" >>"$WORK/pull.log" 2>&1 ;;
        docker) docker pull -q "$ref" >>"$WORK/pull.log" 2>&1 ;;
    esac
    end=$(date +%s%N)
    echo "$(((end - start) / 1000000))"
}

run_pull_benchmark() {
    local v tool i ms
    log "pull: making $FILES files, $MEGABYTES MB"
    make_image_content
    for ((v = 1; v <= ROUNDS; v++)); do
        log "pull: pushing variant $v"
        push_variant "$v"
    done
    for tool in "${PULL_TOOLS[@]}"; do PULL_RUNS[$tool]=; done
    # What a round unpacks stays until the end: deleting many files slows the next round's writes here.
    for ((v = 1; v <= ROUNDS; v++)); do
        # All three pull the same variant in a round, in an order that rotates from round to round.
        for ((i = 0; i < 3; i++)); do
            tool=${PULL_TOOLS[$(((i + v - 1) % 3))]}
            ms=$(pull_once "$tool" "$v")
            [[ $tool == docker ]] && DOCKER_IMAGES+=("$HOST/bench/big:v$v")
            PULL_RUNS[$tool]+="$ms "
            log "  round $v $tool: $ms ms"
        done
    done
    for tool in "${PULL_TOOLS[@]}"; do PULL_MEDIAN[$tool]=$(tr ' ' '\n' <<<"${PULL_RUNS[$tool]}" | grep . | median); done
}

[[ $ONLY != pull ]] && run_start_benchmark
LOAD_PULL=$(cut -d' ' -f1-3 /proc/loadavg)
[[ $ONLY != start ]] && run_pull_benchmark
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

# --- Report ------------------------------------------------------------------------------------------
mkdir -p "$REPO/bench/out"
REPORT=$REPO/bench/out/runtime-$(date -u +%Y%m%dT%H%M%SZ).md
{
    echo "# Node runtime benchmark"
    echo
    echo "bench/runtime.sh on $(hostname), $(date -u '+%Y-%m-%d %H:%M UTC'): $(nproc) cores, kernel $(uname -r);"
    echo "runc $(runc --version | awk 'NR==1 {print $3}'), crun $(crun --version | awk 'NR==1 {print $3}'), umoci $(umoci --version | awk '{print $3}'),"
    echo "skopeo $(skopeo --version | awk '{print $3}'), docker $(docker version -f '{{.Server.Version}}'), .NET $(dotnet --version)."
    echo "Load average (1, 5, 15 min) at start: $LOAD_START; before the pulls: $LOAD_PULL; at end: $LOAD_END."
    echo "With a load average above $(nproc), other processes took CPU throughout: absolute figures are inflated, ratios less so."
    echo
    if [[ $ONLY != pull ]]; then
        local_crun=${START_MEDIAN[crun]}
        echo "## Start-to-exit of /bin/true in a cached busybox image"
        echo
        echo "Median of $REPS runs each (after 2 warm-ups), taking turns; wall time from fork to exit,"
        echo "less the median $SHELL_MS ms (timed in the same turns) of the \`bash -c\` the harness puts in front of every command."
        echo
        # crun's figure includes its unshare+umount wrapper; the last column compares with crun without it.
        crun_alone=$(awk -v a="$local_crun" -v b="${START_MEDIAN[crun-wrapper-alone]}" 'BEGIN {printf "%.1f", a - b}')
        echo "| command | median ms | / crun | / crun less its wrapper ($crun_alone ms) |"
        echo "| --- | ---: | ---: | ---: |"
        for tool in "${START_TOOLS[@]}"; do
            [[ $tool == harness ]] || echo "| $tool | ${START_MEDIAN[$tool]} | $(ratio "${START_MEDIAN[$tool]}" "$local_crun") | $(ratio "${START_MEDIAN[$tool]}" "$crun_alone") |"
        done
        echo
        echo "- registry-node: \`registry-node run --rm --network none IMAGE /bin/true\`, the image pulled from our registry beforehand."
        echo "- registry-node-aot: the same with registry-node published with NativeAOT ($AOT_NOTE)."
        echo "- runc, crun: \`run -b BUNDLE\` of the same rootfs, config.json from \`runc spec\` (terminal off, args /bin/true)."
        echo "- crun: inside \`unshare -m sh -c 'umount /sys/fs/cgroup/unified && exec crun …'\`; crun-wrapper-alone is that wrapper running \`true\`."
        echo "- docker: \`docker run --rm --network none IMAGE /bin/true\`; floor: \`unshare -p -m -u -i -n -f chroot ROOTFS /bin/true\`."
        echo "- \`--version\`: process start and command-line parsing only, no container."
        echo
        aim="Aim (issue 5): registry-node at most 1.5x crun: $(verdict "${START_MEDIAN[registry-node]}" "$local_crun" 1.5)"
        [[ -n $NODE_AOT ]] && aim+="; published with NativeAOT: $(verdict "${START_MEDIAN[registry-node-aot]}" "$local_crun" 1.5), against crun less its wrapper $(verdict "${START_MEDIAN[registry-node-aot]}" "$crun_alone" 1.5)"
        echo "$aim."
        echo
    fi
    if [[ $ONLY != start ]]; then
        echo "## Pull + unpack from our registry"
        echo
        echo "Image: $IMAGE_NOTE. $ROUNDS rounds; each round all three pull a fresh variant (a new file in every layer), in rotating order."
        echo
        echo "| client | median ms | / docker pull | runs (ms) |"
        echo "| --- | ---: | ---: | --- |"
        for tool in "${PULL_TOOLS[@]}"; do
            echo "| $tool | ${PULL_MEDIAN[$tool]} | $(ratio "${PULL_MEDIAN[$tool]}" "${PULL_MEDIAN[docker]}") | ${PULL_RUNS[$tool]}|"
        done
        echo
        echo "- registry-node: \`registry-node --root FRESH pull\` (content store + unpacked snapshots)."
        echo "- skopeo+umoci: \`skopeo copy docker://… oci:DIR\` then \`umoci unpack\`."
        echo "- docker: \`docker pull\` (dockerd $(docker info -f '{{.Driver}}'))."
        echo
        echo "Aim (issue 5): registry-node at most 0.7x docker pull: $(verdict "${PULL_MEDIAN[registry-node]}" "${PULL_MEDIAN[docker]}" 0.7)."
        echo
    fi
    if [[ $ONLY != pull ]]; then
        echo "## Every start-to-exit run (ms, including the harness shell)"
        echo
        for tool in "${START_TOOLS[@]}"; do echo "- $tool: ${START_RUNS[$tool]}"; done
    fi
} >"$REPORT"
if ((UPDATE)); then
    # A hand-written "## Analysis" section (profiles, explanations) survives the update.
    [[ -f $REPO/bench/RESULTS-runtime.md ]] && awk '/^## Analysis/ {p = 1} /^## / && !/^## Analysis/ {p = 0} p' "$REPO/bench/RESULTS-runtime.md" >"$WORK/analysis.md"
    cp "$REPORT" "$REPO/bench/RESULTS-runtime.md"
    [[ -s $WORK/analysis.md ]] && { echo; cat "$WORK/analysis.md"; } >>"$REPO/bench/RESULTS-runtime.md"
fi
cat "$REPORT"
log "report: $REPORT"
