using System.Text;
using Microsoft.EntityFrameworkCore;

namespace Exchange.Persistence;

/// <summary>
/// The schema is hand-written SQL in snake_case (schemas/sql); this maps every property to its snake_case
/// column (<c>PackageSha256</c> → <c>package_sha256</c>) so configurations only say what differs.
/// </summary>
public static class SnakeCaseColumns
{
    public static void Apply(ModelBuilder modelBuilder)
    {
        foreach (var property in modelBuilder.Model.GetEntityTypes().SelectMany(e => e.GetProperties()))
        {
            property.SetColumnName(ToSnakeCase(property.Name));
        }
    }

    public static string ToSnakeCase(string name)
    {
        var text = new StringBuilder(name.Length + 8);
        for (var i = 0; i < name.Length; i++)
        {
            if (char.IsUpper(name[i]) && i > 0)
            {
                text.Append('_');
            }

            text.Append(char.ToLowerInvariant(name[i]));
        }

        return text.ToString();
    }
}
