using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Registry.Storage.Metadata.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class RepositoryNamespace : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "namespace",
                table: "repositories",
                type: "TEXT",
                maxLength: 255,
                nullable: true);

            // Repositories pushed before namespaces existed get theirs from their names.
            migrationBuilder.Sql("UPDATE repositories SET namespace = substr(name, 1, instr(name, '/') - 1) WHERE instr(name, '/') > 0;");

            migrationBuilder.CreateIndex(
                name: "IX_repositories_namespace",
                table: "repositories",
                column: "namespace");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "IX_repositories_namespace",
                table: "repositories");

            migrationBuilder.DropColumn(
                name: "namespace",
                table: "repositories");
        }
    }
}
