using Convergence.Cli;

return CommandLine.Run(args);
