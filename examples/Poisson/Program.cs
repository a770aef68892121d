using Convergence.Control;
using Convergence.Examples.Poisson;
using Convergence.Mpi;

// The whole main program of a steerable MPI solver: hand a factory to the framework.
return MpiJob.Run(
    args,
    setup => new PoissonSolver(PoissonOptions.Parse(setup.SolverArguments), setup.Rank, setup.Size),
    defaults: new RunOptions { Tolerance = 1e-6, JobName = "poisson" },
    solverHelp: PoissonOptions.Help);
