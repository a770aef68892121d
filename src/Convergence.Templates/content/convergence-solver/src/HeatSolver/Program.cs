using Convergence.Mpi;
using Convergence.Options;
using HeatSolver;

// The whole main program: the solver's option table and a factory for this rank's share. The framework
// parses the options (its own and HeatOptions.Table), runs the loop on every rank, follows the
// notifications file on rank 0, and writes status.html and result.txt.
return MpiJob.Run(
    args,
    HeatOptions.Table,
    (setup, options) => new HeatEquation(options, setup.Rank, setup.Size),
    defaults: new RunOptions { Tolerance = 1e-8, JobName = "HeatSolver" });
