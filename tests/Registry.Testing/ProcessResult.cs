using System.Globalization;
using System.Text;

namespace Registry.Testing;

/// <summary>The outcome of a finished command.</summary>
public sealed record ProcessResult(
    string FileName,
    IReadOnlyList<string> Arguments,
    int ExitCode,
    string StandardOutput,
    string StandardError)
{
    public bool Succeeded => ExitCode == 0;

    public string CombinedOutput => StandardOutput + StandardError;

    /// <summary>Throws with the command line and its whole output unless it exited 0.</summary>
    public ProcessResult EnsureSuccess()
    {
        return Succeeded ? this : throw new ProcessFailedException(this);
    }

    public override string ToString()
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"$ {FileName} {string.Join(' ', Arguments)}\n");
        text.Append(CultureInfo.InvariantCulture, $"exit code {ExitCode}\n");
        text.Append("--- stdout ---\n").Append(StandardOutput);
        text.Append("\n--- stderr ---\n").Append(StandardError);
        return text.ToString();
    }
}

public sealed class ProcessFailedException : Exception
{
    public ProcessFailedException(ProcessResult result)
        : base(result.ToString())
    {
        Result = result;
    }

    public ProcessResult? Result { get; }

    public ProcessFailedException()
    {
    }

    public ProcessFailedException(string message)
        : base(message)
    {
    }

    public ProcessFailedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
