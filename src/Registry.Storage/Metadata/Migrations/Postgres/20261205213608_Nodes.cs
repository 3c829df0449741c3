using System;
using Microsoft.EntityFrameworkCore.Migrations;
using Npgsql.EntityFrameworkCore.PostgreSQL.Metadata;

#nullable disable

namespace Registry.Storage.Metadata.Migrations.Postgres
{
    /// <inheritdoc />
    public partial class Nodes : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "node_join_tokens",
                columns: table => new
                {
                    id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    lookup_id = table.Column<string>(type: "character varying(32)", maxLength: 32, nullable: false),
                    secret_hash = table.Column<byte[]>(type: "bytea", nullable: false),
                    uses = table.Column<int>(type: "integer", nullable: false),
                    used = table.Column<int>(type: "integer", nullable: false),
                    expires_at = table.Column<DateTime>(type: "timestamp with time zone", nullable: false),
                    created_at = table.Column<DateTime>(type: "timestamp with time zone", nullable: false),
                    created_by = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_node_join_tokens", x => x.id);
                });

            migrationBuilder.CreateTable(
                name: "nodes",
                columns: table => new
                {
                    id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    name = table.Column<string>(type: "character varying(63)", maxLength: 63, nullable: false),
                    lookup_id = table.Column<string>(type: "character varying(32)", maxLength: 32, nullable: false),
                    credential_hash = table.Column<byte[]>(type: "bytea", nullable: false),
                    labels = table.Column<string>(type: "text", nullable: false),
                    cpus = table.Column<double>(type: "double precision", nullable: false),
                    memory_bytes = table.Column<long>(type: "bigint", nullable: false),
                    disk_free_bytes = table.Column<long>(type: "bigint", nullable: false),
                    agent_version = table.Column<string>(type: "character varying(128)", maxLength: 128, nullable: true),
                    joined_at = table.Column<DateTime>(type: "timestamp with time zone", nullable: false),
                    last_seen_at = table.Column<DateTime>(type: "timestamp with time zone", nullable: false),
                    clock_skew_seconds = table.Column<double>(type: "double precision", nullable: false),
                    cordoned = table.Column<bool>(type: "boolean", nullable: false),
                    draining = table.Column<bool>(type: "boolean", nullable: false),
                    generation = table.Column<long>(type: "bigint", nullable: false),
                    allocated_memory_bytes = table.Column<long>(type: "bigint", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_nodes", x => x.id);
                });

            migrationBuilder.CreateTable(
                name: "node_containers",
                columns: table => new
                {
                    id = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    name = table.Column<string>(type: "character varying(128)", maxLength: 128, nullable: false),
                    owner_id = table.Column<long>(type: "bigint", nullable: false),
                    node_id = table.Column<long>(type: "bigint", nullable: true),
                    pinned = table.Column<bool>(type: "boolean", nullable: false),
                    selector = table.Column<string>(type: "text", nullable: true),
                    reference = table.Column<string>(type: "character varying(512)", maxLength: 512, nullable: false),
                    repository = table.Column<string>(type: "character varying(255)", maxLength: 255, nullable: false),
                    digest = table.Column<string>(type: "character varying(150)", maxLength: 150, nullable: false),
                    command = table.Column<string>(type: "text", nullable: true),
                    env = table.Column<string>(type: "text", nullable: true),
                    ports = table.Column<string>(type: "text", nullable: true),
                    volumes = table.Column<string>(type: "text", nullable: true),
                    memory_bytes = table.Column<long>(type: "bigint", nullable: true),
                    cpus = table.Column<double>(type: "double precision", nullable: true),
                    pids = table.Column<int>(type: "integer", nullable: true),
                    restart = table.Column<string>(type: "character varying(32)", maxLength: 32, nullable: false),
                    desired = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: false),
                    start_serial = table.Column<int>(type: "integer", nullable: false),
                    placement = table.Column<int>(type: "integer", nullable: false),
                    state = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: false),
                    exit_code = table.Column<int>(type: "integer", nullable: true),
                    restart_count = table.Column<int>(type: "integer", nullable: false),
                    restart_base = table.Column<int>(type: "integer", nullable: false),
                    error = table.Column<string>(type: "character varying(1024)", maxLength: 1024, nullable: true),
                    created_at = table.Column<DateTime>(type: "timestamp with time zone", nullable: false),
                    placed_at = table.Column<DateTime>(type: "timestamp with time zone", nullable: true),
                    reported_at = table.Column<DateTime>(type: "timestamp with time zone", nullable: true),
                    started_at = table.Column<DateTime>(type: "timestamp with time zone", nullable: true),
                    finished_at = table.Column<DateTime>(type: "timestamp with time zone", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_node_containers", x => x.id);
                    table.ForeignKey(
                        name: "FK_node_containers_accounts_owner_id",
                        column: x => x.owner_id,
                        principalTable: "accounts",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                    table.ForeignKey(
                        name: "FK_node_containers_nodes_node_id",
                        column: x => x.node_id,
                        principalTable: "nodes",
                        principalColumn: "id",
                        onDelete: ReferentialAction.SetNull);
                });

            migrationBuilder.CreateTable(
                name: "node_container_logs",
                columns: table => new
                {
                    id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    container_id = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    placement = table.Column<int>(type: "integer", nullable: false),
                    offset = table.Column<long>(type: "bigint", nullable: false),
                    stream = table.Column<string>(type: "character varying(8)", maxLength: 8, nullable: false),
                    time = table.Column<DateTime>(type: "timestamp with time zone", nullable: false),
                    text = table.Column<string>(type: "text", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_node_container_logs", x => x.id);
                    table.ForeignKey(
                        name: "FK_node_container_logs_node_containers_container_id",
                        column: x => x.container_id,
                        principalTable: "node_containers",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateIndex(
                name: "IX_node_container_logs_container_id_placement_offset",
                table: "node_container_logs",
                columns: new[] { "container_id", "placement", "offset" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_node_containers_node_id",
                table: "node_containers",
                column: "node_id");

            migrationBuilder.CreateIndex(
                name: "IX_node_containers_owner_id",
                table: "node_containers",
                column: "owner_id");

            migrationBuilder.CreateIndex(
                name: "IX_node_join_tokens_lookup_id",
                table: "node_join_tokens",
                column: "lookup_id",
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_nodes_lookup_id",
                table: "nodes",
                column: "lookup_id",
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_nodes_name",
                table: "nodes",
                column: "name",
                unique: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "node_container_logs");

            migrationBuilder.DropTable(
                name: "node_join_tokens");

            migrationBuilder.DropTable(
                name: "node_containers");

            migrationBuilder.DropTable(
                name: "nodes");
        }
    }
}
