using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;

namespace Registry.Storage.Metadata;

// Used only by `dotnet ef migrations add`; the connection strings are never opened.

internal sealed class SqliteDesignTimeFactory : IDesignTimeDbContextFactory<SqliteRegistryDbContext>
{
    public SqliteRegistryDbContext CreateDbContext(string[] args) =>
        new(new DbContextOptionsBuilder<SqliteRegistryDbContext>().UseSqlite("Data Source=design.db").Options);
}

internal sealed class PostgresDesignTimeFactory : IDesignTimeDbContextFactory<PostgresRegistryDbContext>
{
    public PostgresRegistryDbContext CreateDbContext(string[] args) =>
        new(new DbContextOptionsBuilder<PostgresRegistryDbContext>().UseNpgsql("Host=localhost;Database=design").Options);
}
