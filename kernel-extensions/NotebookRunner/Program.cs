using NotebookRunner;

return await Cli.RunAsync(args, Console.Out, Console.Error);
