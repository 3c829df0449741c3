using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Registry.Storage.Metadata.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class NamespacePolicies : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "immutable_tag_rules",
                columns: table => new
                {
                    id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    @namespace = table.Column<string>(name: "namespace", type: "TEXT", maxLength: 255, nullable: false),
                    repository = table.Column<string>(type: "TEXT", maxLength: 255, nullable: true),
                    pattern = table.Column<string>(type: "TEXT", maxLength: 128, nullable: false),
                    created_at = table.Column<DateTime>(type: "TEXT", nullable: false),
                    created_by = table.Column<string>(type: "TEXT", maxLength: 64, nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_immutable_tag_rules", x => x.id);
                });

            migrationBuilder.CreateTable(
                name: "namespace_quotas",
                columns: table => new
                {
                    @namespace = table.Column<string>(name: "namespace", type: "TEXT", maxLength: 255, nullable: false),
                    limit_bytes = table.Column<long>(type: "INTEGER", nullable: false),
                    updated_at = table.Column<DateTime>(type: "TEXT", nullable: false),
                    updated_by = table.Column<string>(type: "TEXT", maxLength: 64, nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_namespace_quotas", x => x.@namespace);
                });

            migrationBuilder.CreateIndex(
                name: "IX_manifests_config_digest",
                table: "manifests",
                column: "config_digest");

            migrationBuilder.CreateIndex(
                name: "IX_immutable_tag_rules_namespace_repository",
                table: "immutable_tag_rules",
                columns: new[] { "namespace", "repository" });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "immutable_tag_rules");

            migrationBuilder.DropTable(
                name: "namespace_quotas");

            migrationBuilder.DropIndex(
                name: "IX_manifests_config_digest",
                table: "manifests");
        }
    }
}
