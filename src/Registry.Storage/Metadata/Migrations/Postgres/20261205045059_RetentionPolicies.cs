using System;
using Microsoft.EntityFrameworkCore.Migrations;
using Npgsql.EntityFrameworkCore.PostgreSQL.Metadata;

#nullable disable

namespace Registry.Storage.Metadata.Migrations.Postgres
{
    /// <inheritdoc />
    public partial class RetentionPolicies : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<DateTime>(
                name: "last_pulled_at",
                table: "manifests",
                type: "timestamp with time zone",
                nullable: true);

            migrationBuilder.CreateTable(
                name: "retention_policies",
                columns: table => new
                {
                    id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    @namespace = table.Column<string>(name: "namespace", type: "character varying(255)", maxLength: 255, nullable: false),
                    repository = table.Column<string>(type: "character varying(255)", maxLength: 255, nullable: true),
                    tag_pattern = table.Column<string>(type: "character varying(256)", maxLength: 256, nullable: false),
                    keep_most_recent = table.Column<int>(type: "integer", nullable: true),
                    keep_younger_than = table.Column<string>(type: "character varying(32)", maxLength: 32, nullable: true),
                    keep_pulled_within = table.Column<string>(type: "character varying(32)", maxLength: 32, nullable: true),
                    untagged_older_than = table.Column<string>(type: "character varying(32)", maxLength: 32, nullable: true),
                    schedule = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: true),
                    enabled = table.Column<bool>(type: "boolean", nullable: false),
                    created_by = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: true),
                    created_at = table.Column<DateTime>(type: "timestamp with time zone", nullable: false),
                    updated_at = table.Column<DateTime>(type: "timestamp with time zone", nullable: false),
                    last_run_at = table.Column<DateTime>(type: "timestamp with time zone", nullable: true),
                    next_run_at = table.Column<DateTime>(type: "timestamp with time zone", nullable: true),
                    claimed_until = table.Column<DateTime>(type: "timestamp with time zone", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_retention_policies", x => x.id);
                });

            migrationBuilder.CreateTable(
                name: "retention_runs",
                columns: table => new
                {
                    id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    policy_id = table.Column<long>(type: "bigint", nullable: false),
                    actor = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: true),
                    started_at = table.Column<DateTime>(type: "timestamp with time zone", nullable: false),
                    finished_at = table.Column<DateTime>(type: "timestamp with time zone", nullable: false),
                    deleted_tags = table.Column<int>(type: "integer", nullable: false),
                    deleted_manifests = table.Column<int>(type: "integer", nullable: false),
                    report_json = table.Column<string>(type: "text", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_retention_runs", x => x.id);
                    table.ForeignKey(
                        name: "FK_retention_runs_retention_policies_policy_id",
                        column: x => x.policy_id,
                        principalTable: "retention_policies",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateIndex(
                name: "IX_retention_policies_namespace",
                table: "retention_policies",
                column: "namespace");

            migrationBuilder.CreateIndex(
                name: "IX_retention_policies_next_run_at",
                table: "retention_policies",
                column: "next_run_at");

            migrationBuilder.CreateIndex(
                name: "IX_retention_runs_policy_id_id",
                table: "retention_runs",
                columns: new[] { "policy_id", "id" });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "retention_runs");

            migrationBuilder.DropTable(
                name: "retention_policies");

            migrationBuilder.DropColumn(
                name: "last_pulled_at",
                table: "manifests");
        }
    }
}
