using Registry.Bench;

return await Cli.RunAsync(args);
