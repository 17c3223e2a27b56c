namespace Exchange.Signing;

/// <summary>
/// Where Exchange keeps local state (development PKI, server data): <c>$EXCHANGE_HOME</c> when set; otherwise
/// <c>.local</c> under the checkout root (the folder holding Exchange.sln, found by walking up from the current
/// directory, then from the program's own folder); otherwise <c>~/.exchange</c>.
/// </summary>
public static class ExchangeHome
{
    public const string EnvironmentVariable = "EXCHANGE_HOME";
    public const string SolutionFile = "Exchange.sln";

    public static string Path
    {
        get
        {
            var configured = Environment.GetEnvironmentVariable(EnvironmentVariable);
            if (!string.IsNullOrWhiteSpace(configured))
            {
                return System.IO.Path.GetFullPath(configured);
            }

            var root = FindCheckoutRoot(Directory.GetCurrentDirectory()) ?? FindCheckoutRoot(AppContext.BaseDirectory);
            return root is not null
                ? System.IO.Path.Combine(root, ".local")
                : System.IO.Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".exchange");
        }
    }

    /// <summary>The development PKI's folder (see <see cref="DevPki"/>).</summary>
    public static string Pki => System.IO.Path.Combine(Path, "pki");

    /// <summary>The nearest folder at or above <paramref name="start"/> that holds Exchange.sln, or null.</summary>
    public static string? FindCheckoutRoot(string start)
    {
        for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(System.IO.Path.Combine(dir.FullName, SolutionFile)))
            {
                return dir.FullName;
            }
        }

        return null;
    }
}
