using System.Security.Cryptography;

namespace Registry.Bench;

/// <summary>Writes incompressible data, so neither side can gain from compression or sparse files.</summary>
internal static class RandomFile
{
    public static int Run(Options options)
    {
        Write(options.Get("out"), (long)options.GetInt("mib", 1024) << 20);
        return 0;
    }

    public static void Write(string path, long length)
    {
        var buffer = new byte[4 << 20];
        using var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1);
        for (long written = 0; written < length; written += buffer.Length)
        {
            var count = (int)Math.Min(buffer.Length, length - written);
            RandomNumberGenerator.Fill(buffer.AsSpan(0, count));
            file.Write(buffer, 0, count);
        }
    }
}
