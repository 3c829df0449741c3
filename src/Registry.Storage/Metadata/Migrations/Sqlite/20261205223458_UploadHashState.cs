using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Registry.Storage.Metadata.Migrations.Sqlite
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
                type: "INTEGER",
                nullable: true);

            migrationBuilder.AddColumn<byte[]>(
                name: "hash_state",
                table: "uploads",
                type: "BLOB",
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
