#!/usr/bin/env bash
# Adds a migration named $1 for every metadata provider, so SQLite and PostgreSQL stay in step.
set -euo pipefail
name=${1:?usage: eng/add-migration.sh NAME}
cd "$(dirname "$0")/.."
dotnet tool restore >/dev/null
for provider in Sqlite Postgres; do
  dotnet tool run dotnet-ef migrations add "$name" \
    --context "${provider}RegistryDbContext" \
    --output-dir "Metadata/Migrations/$provider" \
    --namespace "Registry.Storage.Metadata.Migrations.$provider" \
    --project src/Registry.Storage --startup-project src/Registry.Storage
done
