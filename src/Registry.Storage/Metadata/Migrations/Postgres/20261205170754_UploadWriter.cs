using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Registry.Storage.Metadata.Migrations.Postgres
{
    /// <inheritdoc />
    public partial class UploadWriter : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "writer",
                table: "uploads",
                type: "character varying(64)",
                maxLength: 64,
                nullable: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "writer",
                table: "uploads");
        }
    }
}
