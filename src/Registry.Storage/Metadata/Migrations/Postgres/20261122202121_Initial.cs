using System;
using Microsoft.EntityFrameworkCore.Migrations;
using Npgsql.EntityFrameworkCore.PostgreSQL.Metadata;

#nullable disable

namespace Registry.Storage.Metadata.Migrations.Postgres
{
    /// <inheritdoc />
    public partial class Initial : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "blobs",
                columns: table => new
                {
                    digest = table.Column<string>(type: "character varying(150)", maxLength: 150, nullable: false),
                    size = table.Column<long>(type: "bigint", nullable: false),
                    created_at = table.Column<DateTime>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_blobs", x => x.digest);
                });

            migrationBuilder.CreateTable(
                name: "repositories",
                columns: table => new
                {
                    id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    name = table.Column<string>(type: "character varying(255)", maxLength: 255, nullable: false, collation: "C"),
                    created_at = table.Column<DateTime>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_repositories", x => x.id);
                });

            migrationBuilder.CreateTable(
                name: "uploads",
                columns: table => new
                {
                    id = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    repository_name = table.Column<string>(type: "character varying(255)", maxLength: 255, nullable: false),
                    created_at = table.Column<DateTime>(type: "timestamp with time zone", nullable: false),
                    updated_at = table.Column<DateTime>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_uploads", x => x.id);
                });

            migrationBuilder.CreateTable(
                name: "manifests",
                columns: table => new
                {
                    id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    repository_id = table.Column<long>(type: "bigint", nullable: false),
                    digest = table.Column<string>(type: "character varying(150)", maxLength: 150, nullable: false),
                    media_type = table.Column<string>(type: "character varying(255)", maxLength: 255, nullable: false),
                    artifact_type = table.Column<string>(type: "character varying(255)", maxLength: 255, nullable: true),
                    payload = table.Column<byte[]>(type: "bytea", nullable: false),
                    config_digest = table.Column<string>(type: "character varying(150)", maxLength: 150, nullable: true),
                    config_media_type = table.Column<string>(type: "character varying(255)", maxLength: 255, nullable: true),
                    total_size = table.Column<long>(type: "bigint", nullable: false),
                    subject_digest = table.Column<string>(type: "character varying(150)", maxLength: 150, nullable: true),
                    annotations_json = table.Column<string>(type: "text", nullable: true),
                    created_at = table.Column<DateTime>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_manifests", x => x.id);
                    table.ForeignKey(
                        name: "FK_manifests_repositories_repository_id",
                        column: x => x.repository_id,
                        principalTable: "repositories",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "repository_blobs",
                columns: table => new
                {
                    repository_id = table.Column<long>(type: "bigint", nullable: false),
                    blob_digest = table.Column<string>(type: "character varying(150)", maxLength: 150, nullable: false),
                    created_at = table.Column<DateTime>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_repository_blobs", x => new { x.repository_id, x.blob_digest });
                    table.ForeignKey(
                        name: "FK_repository_blobs_blobs_blob_digest",
                        column: x => x.blob_digest,
                        principalTable: "blobs",
                        principalColumn: "digest",
                        onDelete: ReferentialAction.Restrict);
                    table.ForeignKey(
                        name: "FK_repository_blobs_repositories_repository_id",
                        column: x => x.repository_id,
                        principalTable: "repositories",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "manifest_layers",
                columns: table => new
                {
                    manifest_id = table.Column<long>(type: "bigint", nullable: false),
                    position = table.Column<int>(type: "integer", nullable: false),
                    digest = table.Column<string>(type: "character varying(150)", maxLength: 150, nullable: false),
                    media_type = table.Column<string>(type: "character varying(255)", maxLength: 255, nullable: false),
                    size = table.Column<long>(type: "bigint", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_manifest_layers", x => new { x.manifest_id, x.position });
                    table.ForeignKey(
                        name: "FK_manifest_layers_manifests_manifest_id",
                        column: x => x.manifest_id,
                        principalTable: "manifests",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "manifest_references",
                columns: table => new
                {
                    parent_id = table.Column<long>(type: "bigint", nullable: false),
                    child_id = table.Column<long>(type: "bigint", nullable: false),
                    platform = table.Column<string>(type: "character varying(255)", maxLength: 255, nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_manifest_references", x => new { x.parent_id, x.child_id });
                    table.ForeignKey(
                        name: "FK_manifest_references_manifests_child_id",
                        column: x => x.child_id,
                        principalTable: "manifests",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                    table.ForeignKey(
                        name: "FK_manifest_references_manifests_parent_id",
                        column: x => x.parent_id,
                        principalTable: "manifests",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "tags",
                columns: table => new
                {
                    id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    repository_id = table.Column<long>(type: "bigint", nullable: false),
                    name = table.Column<string>(type: "character varying(128)", maxLength: 128, nullable: false, collation: "C"),
                    manifest_id = table.Column<long>(type: "bigint", nullable: false),
                    updated_at = table.Column<DateTime>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_tags", x => x.id);
                    table.ForeignKey(
                        name: "FK_tags_manifests_manifest_id",
                        column: x => x.manifest_id,
                        principalTable: "manifests",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                    table.ForeignKey(
                        name: "FK_tags_repositories_repository_id",
                        column: x => x.repository_id,
                        principalTable: "repositories",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateIndex(
                name: "IX_manifest_layers_digest",
                table: "manifest_layers",
                column: "digest");

            migrationBuilder.CreateIndex(
                name: "IX_manifest_references_child_id",
                table: "manifest_references",
                column: "child_id");

            migrationBuilder.CreateIndex(
                name: "IX_manifests_repository_id_digest",
                table: "manifests",
                columns: new[] { "repository_id", "digest" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_manifests_repository_id_subject_digest",
                table: "manifests",
                columns: new[] { "repository_id", "subject_digest" });

            migrationBuilder.CreateIndex(
                name: "IX_repositories_name",
                table: "repositories",
                column: "name",
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_repository_blobs_blob_digest",
                table: "repository_blobs",
                column: "blob_digest");

            migrationBuilder.CreateIndex(
                name: "IX_tags_manifest_id",
                table: "tags",
                column: "manifest_id");

            migrationBuilder.CreateIndex(
                name: "IX_tags_repository_id_name",
                table: "tags",
                columns: new[] { "repository_id", "name" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_uploads_updated_at",
                table: "uploads",
                column: "updated_at");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "manifest_layers");

            migrationBuilder.DropTable(
                name: "manifest_references");

            migrationBuilder.DropTable(
                name: "repository_blobs");

            migrationBuilder.DropTable(
                name: "tags");

            migrationBuilder.DropTable(
                name: "uploads");

            migrationBuilder.DropTable(
                name: "blobs");

            migrationBuilder.DropTable(
                name: "manifests");

            migrationBuilder.DropTable(
                name: "repositories");
        }
    }
}
