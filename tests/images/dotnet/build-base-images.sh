#!/usr/bin/env bash
# Builds stand-ins for mcr.microsoft.com/dotnet/sdk:10.0 and mcr.microsoft.com/dotnet/aspnet:10.0,
# which cannot be pulled on the test machines, so that deploy/api/Dockerfile can be built and run
# there (tests/Registry.E2E.Tests/Deploy/ApiImageTests.cs):
#   SDK_TAG:     Debian (the debootstrapped base image) + this machine's .NET SDK + the NuGet
#                packages the given projects restore (from their obj/project.assets.json), so that
#                `dotnet restore` inside the build needs no network.
#   RUNTIME_TAG: Debian + this machine's .NET runtimes (no SDK).
# Usage: build-base-images.sh BASE_IMAGE SDK_TAG RUNTIME_TAG PROJECT_ASSETS_JSON...
set -euo pipefail

base=$1 sdk_tag=$2 runtime_tag=$3
shift 3
dotnet_root=$(dirname "$(readlink -f "$(command -v dotnet)")")
packages=${NUGET_PACKAGES:-$HOME/.nuget/packages}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Hard links where the file system allows them: the SDK is 600 MB.
copy() { cp -al "$1" "$2" 2>/dev/null || cp -a "$1" "$2"; }

mkdir -p "$work/sdk/packages" "$work/runtime/dotnet"
copy "$dotnet_root" "$work/sdk/dotnet"
for assets in "$@"; do
    jq -r '.libraries | to_entries[] | select(.value.type == "package") | .value.path' "$assets"
    # Runtime packs and the ahead-of-time compiler, restored for a runtime identifier (-r linux-x64).
    jq -r '.project.frameworks[].downloadDependencies[]? | "\(.name | ascii_downcase)/\(.version | ltrimstr("[") | sub(",.*"; ""))"' "$assets"
done | sort -u | while read -r package; do
    mkdir -p "$work/sdk/packages/$(dirname "$package")"
    [ -e "$work/sdk/packages/$package" ] || copy "$packages/$package" "$work/sdk/packages/$package"
done
# The only package source is the copied cache itself (a global packages folder is a valid local feed).
mkdir -p "$work/sdk/nuget"
cat >"$work/sdk/nuget/NuGet.Config" <<'CONFIG'
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources>
    <clear />
    <add key="copied-cache" value="/root/.nuget/packages" />
  </packageSources>
</configuration>
CONFIG
cat >"$work/sdk/Dockerfile" <<DOCKERFILE
FROM $base
COPY dotnet /usr/share/dotnet
COPY packages /root/.nuget/packages
COPY nuget /root/.nuget/NuGet
RUN ln -s /usr/share/dotnet/dotnet /usr/bin/dotnet \\
    && apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libssl3 \\
    && rm -rf /var/lib/apt/lists/*
# Offline: packages come from the copied cache only, and no vulnerability data is fetched.
ENV DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1 DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 \
    DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1 NUGET_PACKAGES=/root/.nuget/packages NuGetAudit=false
DOCKERFILE

copy "$dotnet_root/dotnet" "$work/runtime/dotnet/dotnet"
copy "$dotnet_root/host" "$work/runtime/dotnet/host"
copy "$dotnet_root/shared" "$work/runtime/dotnet/shared"
cat >"$work/runtime/Dockerfile" <<DOCKERFILE
FROM $base
COPY dotnet /usr/share/dotnet
RUN ln -s /usr/share/dotnet/dotnet /usr/bin/dotnet \\
    && apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libssl3 \\
    && rm -rf /var/lib/apt/lists/*
ENV DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1 DOTNET_CLI_TELEMETRY_OPTOUT=1
DOCKERFILE

# The host's network for apt (libssl3, which .NET needs for hashing and TLS; the Debian mirror is reachable).
docker build --network host -q -t "$sdk_tag" "$work/sdk" >/dev/null
docker build --network host -q -t "$runtime_tag" "$work/runtime" >/dev/null
