using Convergence.Coordination;
using Convergence.Examples.AbortableWaiter;
using Convergence.Hosting;
using Convergence.Options;

// The smallest controllable job: it waits in steps and is done when no step remains. The framework does
// the rest of the SemWES loop: placeholder result, notifications watcher (ABORT, STOP, CHANGE_TOLERANCE,
// and this job's own EXTEND), status page with buttons, final result, exit code.
return ConvergenceJob.Run(
    args,
    new SingleProcessCoordinator(),
    Waiter.Table,
    (_, options) => Waiter.Create(options),
    defaults: new RunOptions { Tolerance = 0.5, JobName = "abortable waiter" });
