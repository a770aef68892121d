using Convergence.Examples.Poisson;
using Convergence.Mpi;
using Convergence.Options;

// The whole main program of a steerable MPI solver: hand the solver's option table and a factory to the framework.
return MpiJob.Run(
    args,
    PoissonOptions.Table,
    (setup, options) => new PoissonSolver(options, setup.Rank, setup.Size),
    defaults: new RunOptions { Tolerance = 1e-6, JobName = "poisson" });
