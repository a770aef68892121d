using Convergence.Examples.BiCgStab;
using Convergence.MathNet;
using Convergence.Options;

// A 2-D convection-diffusion system in a MathNet SparseMatrix, solved by MathNet's own BiCgStab (or
// another of its Krylov solvers), steerable from the status page: ABORT, STOP, CHANGE_TOLERANCE.
return MathNetJob.Run(
    args,
    ExampleOptions.Table,
    (_, options) => ConvectionDiffusion.CreateProblem(options),
    defaults: new RunOptions { Tolerance = 1e-8 });
