using System.Text;
using Convergence.Cli.Commands;

namespace Convergence.Cli.Portal;

/// <summary>
/// The portal's secret from a file (<c>--token-file</c>) or the environment (<c>CONVERGENCE_PORTAL_TOKEN</c>):
/// unlike <c>--token</c>, neither shows in the process list that every user of a login node can read.
/// </summary>
internal static class PortalSecret
{
    /// <summary>A secret file holds one line; anything larger is not one.</summary>
    private const int MaxFileBytes = 1024;

    private const UnixFileMode OpenToOthers =
        UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.OtherRead | UnixFileMode.OtherWrite;

    /// <summary>
    /// The secret in <paramref name="file"/> when one is named, else <paramref name="environmentValue"/>, else
    /// null (a random secret). Surrounding white space (the file's last newline) is not part of it.
    /// </summary>
    /// <exception cref="CliUsageException">The file cannot be read, is open to other users, or holds no valid secret.</exception>
    public static string? Resolve(string? file, string? environmentValue)
    {
        if (file is not null)
        {
            return FromFile(file);
        }

        if (environmentValue is null)
        {
            return null;
        }

        var secret = environmentValue.Trim();
        return PortalOptions.IsSecret(secret)
            ? secret
            : throw new CliUsageException($"{PortalCommand.TokenVariable}: the secret must be {PortalOptions.SecretRule} (or unset it for a random one)");
    }

    private static string FromFile(string file)
    {
        string text;
        UnixFileMode mode;
        try
        {
            // A path such as <(pass show portal) is a pipe: read it as a stream, never by its length.
            using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1);
            mode = OperatingSystem.IsWindows() ? UnixFileMode.None : File.GetUnixFileMode(stream.SafeFileHandle);
            var buffer = new byte[MaxFileBytes + 1];
            var length = 0;
            int read;
            while (length < buffer.Length && (read = stream.Read(buffer, length, buffer.Length - length)) > 0)
            {
                length += read;
            }

            if (length > MaxFileBytes)
            {
                throw new CliUsageException($"--token-file {file} holds more than {MaxFileBytes} bytes; it should hold only the secret");
            }

            text = Encoding.UTF8.GetString(buffer, 0, length);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new CliUsageException($"--token-file {file}: cannot read it: {ex.Message}");
        }

        if ((mode & OpenToOthers) != 0)
        {
            var octal = Convert.ToString((int)mode & 0x1FF, 8);
            throw new CliUsageException($"--token-file {file} is open to other users (mode {octal}): chmod 600 it, or they can read the secret and steer the job");
        }

        var secret = text.Trim();
        return PortalOptions.IsSecret(secret)
            ? secret
            : throw new CliUsageException($"--token-file {file}: the secret must be {PortalOptions.SecretRule}");
    }
}
