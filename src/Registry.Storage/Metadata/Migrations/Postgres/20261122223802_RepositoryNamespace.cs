using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Registry.Storage.Metadata.Migrations.Postgres
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
                type: "character varying(255)",
                maxLength: 255,
                nullable: true);

            // Repositories pushed before namespaces existed get theirs from their names.
            migrationBuilder.Sql("UPDATE repositories SET namespace = split_part(name, '/', 1) WHERE position('/' in name) > 0;");

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
