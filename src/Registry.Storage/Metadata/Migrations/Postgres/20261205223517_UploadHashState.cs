using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Registry.Storage.Metadata.Migrations.Postgres
{
    /// <inheritdoc />
    public partial class UploadHashState : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<long>(
                name: "hash_offset",
                table: "uploads",
                type: "bigint",
                nullable: true);

            migrationBuilder.AddColumn<byte[]>(
                name: "hash_state",
                table: "uploads",
                type: "bytea",
                nullable: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "hash_offset",
                table: "uploads");

            migrationBuilder.DropColumn(
                name: "hash_state",
                table: "uploads");
        }
    }
}
