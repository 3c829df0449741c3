namespace Registry.Bench;

/// <summary>Command dispatch; each command is one step driven by bench/run.sh.</summary>
internal static class Cli
{
    private const string Usage = """
        usage: Registry.Bench COMMAND [--option value]...
          random-file     --out FILE --mib N
          blobs           --targets LABEL=URL[@PID],... --repo NAME --file FILE --results TSV
                          [--nginx URL] [--clk-tck N] [--reps 3] [--get-reps 3] [--chunk-mib 10] [--concurrency 4]
                          [--quiet-wait-s 90] [--user NAME --password-env VAR]
          manifests       --base URL --repo NAME --label L --results TSV [--tags 1000] [--list-seconds 15]
                          [--user NAME --password-env VAR]
          docker-archive  --out FILE --tag NAME:TAG --work DIR [--layers 3] [--layer-mib 100]
          report          --results TSV --meta TSV --out MD
          push-blobs      --base URL --repo-prefix P --metric M --label L --results TSV
                          [--count 100000] [--bytes 1024] [--repos 10] [--concurrency 8] [--user NAME --password-env VAR]
          push-large      --base URL --repo NAME --file FILE --metric M --label L --results TSV [--count 10] [--user ...]
          gc-run          --base URL --pid PID --metric M --label L --results TSV --user NAME --password-env VAR
                          [--clk-tck N] [--expect-blobs N] [--expect-bytes N]
          push-images     --base URL --repo-prefix P --metric M --label L --results TSV --list FILE
                          [--count 2000] [--clients 8] [--warmup 16] [--user ...]
                          [--during-gc true --pid PID [--clk-tck N] [--expect-blobs N]]
          verify-images   --base URL --list FILE --metric M --label L --results TSV [--user ...]
          gc-report       --results TSV --meta TSV --out MD

        --user/--password-env: the account (password read from the environment variable VAR) used when a
        registry answers 401 with a Bearer challenge; a registry without token auth is never sent it.
        """;

    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Length == 0)
        {
            await Console.Error.WriteLineAsync(Usage);
            return 2;
        }

        try
        {
            var options = Options.Parse(args.AsSpan(1));
            return args[0] switch
            {
                "random-file" => RandomFile.Run(options),
                "blobs" => await BlobBench.RunAsync(options),
                "manifests" => await ManifestBench.RunAsync(options),
                "docker-archive" => DockerArchive.Run(options),
                "report" => Report.Run(options),
                "push-blobs" => await GcBench.PushBlobsAsync(options),
                "push-large" => await GcBench.PushLargeAsync(options),
                "gc-run" => await GcBench.GcRunAsync(options),
                "push-images" => await ImagePushBench.PushAsync(options),
                "verify-images" => await ImagePushBench.VerifyAsync(options),
                "gc-report" => GcResults.Run(options),
                _ => Fail($"unknown command '{args[0]}'\n{Usage}"),
            };
        }
        catch (BenchException e)
        {
            return Fail(e.Message);
        }
    }

    private static int Fail(string message)
    {
        Console.Error.WriteLine($"error: {message}");
        return 1;
    }
}

/// <summary>An expected failure (bad option, unexpected HTTP status): reported without a stack trace.</summary>
internal sealed class BenchException(string message) : Exception(message);
