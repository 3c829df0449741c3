using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Registry.Storage.Metadata.Migrations.Postgres
{
    /// <inheritdoc />
    public partial class GarbageCollection : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<DateTime>(
                name: "touched_at",
                table: "repository_blobs",
                type: "timestamp with time zone",
                nullable: false,
                defaultValue: new DateTime(1, 1, 1, 0, 0, 0, 0, DateTimeKind.Unspecified));

            // Links made before this version count as touched when they were made.
            migrationBuilder.Sql("UPDATE repository_blobs SET touched_at = created_at;");

            migrationBuilder.AddColumn<DateTime>(
                name: "emptied_at",
                table: "repositories",
                type: "timestamp with time zone",
                nullable: true);

            migrationBuilder.CreateTable(
                name: "gc_blob_reviews",
                columns: table => new
                {
                    digest = table.Column<string>(type: "character varying(150)", maxLength: 150, nullable: false),
                    review_after = table.Column<DateTime>(type: "timestamp with time zone", nullable: false),
                    claim = table.Column<string>(type: "character varying(32)", maxLength: 32, nullable: true),
                    claimed_until = table.Column<DateTime>(type: "timestamp with time zone", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_gc_blob_reviews", x => x.digest);
                });

            migrationBuilder.CreateTable(
                name: "gc_manifest_reviews",
                columns: table => new
                {
                    manifest_id = table.Column<long>(type: "bigint", nullable: false),
                    review_after = table.Column<DateTime>(type: "timestamp with time zone", nullable: false),
                    claim = table.Column<string>(type: "character varying(32)", maxLength: 32, nullable: true),
                    claimed_until = table.Column<DateTime>(type: "timestamp with time zone", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_gc_manifest_reviews", x => x.manifest_id);
                    table.ForeignKey(
                        name: "FK_gc_manifest_reviews_manifests_manifest_id",
                        column: x => x.manifest_id,
                        principalTable: "manifests",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                });


            migrationBuilder.CreateIndex(
                name: "IX_gc_blob_reviews_claim",
                table: "gc_blob_reviews",
                column: "claim");

            migrationBuilder.CreateIndex(
                name: "IX_gc_blob_reviews_review_after",
                table: "gc_blob_reviews",
                column: "review_after");

            migrationBuilder.CreateIndex(
                name: "IX_gc_manifest_reviews_claim",
                table: "gc_manifest_reviews",
                column: "claim");

            migrationBuilder.CreateIndex(
                name: "IX_gc_manifest_reviews_review_after",
                table: "gc_manifest_reviews",
                column: "review_after");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "gc_blob_reviews");

            migrationBuilder.DropTable(
                name: "gc_manifest_reviews");


            migrationBuilder.DropColumn(
                name: "touched_at",
                table: "repository_blobs");

            migrationBuilder.DropColumn(
                name: "emptied_at",
                table: "repositories");
        }
    }
}
