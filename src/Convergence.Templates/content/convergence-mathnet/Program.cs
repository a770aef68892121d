using Convergence.MathNet;
using Convergence.Options;
using SparseSolve;

// MathNet's own BiCgStab on a sparse system, steerable from the status page and the notifications file:
// ABORT (MathNet sees Cancelled), STOP, CHANGE_TOLERANCE. The framework parses SystemOptions.Table with
// its own options, follows the notifications file and writes status.html and result.txt.
return MathNetJob.Run(
    args,
    SystemOptions.Table,
    (_, options) => ConvectionDiffusion.CreateProblem(options),
    defaults: new RunOptions { Tolerance = 1e-8, JobName = "SparseSolve" });
