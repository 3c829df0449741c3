using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Registry.Storage.Metadata.Migrations.Postgres
{
    /// <inheritdoc />
    public partial class LockoutEscalationAndUploadOwners : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<DateTime>(
                name: "last_success_at",
                table: "login_throttles",
                type: "timestamp with time zone",
                nullable: true);

            migrationBuilder.AddColumn<int>(
                name: "lockouts",
                table: "login_throttles",
                type: "integer",
                nullable: false,
                defaultValue: 0);

            migrationBuilder.CreateIndex(
                name: "IX_uploads_owner",
                table: "uploads",
                column: "owner");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "IX_uploads_owner",
                table: "uploads");

            migrationBuilder.DropColumn(
                name: "last_success_at",
                table: "login_throttles");

            migrationBuilder.DropColumn(
                name: "lockouts",
                table: "login_throttles");
        }
    }
}
