using System.Globalization;

namespace Convergence.Mpi;

/// <summary>
/// What started this process, read from the variables each launcher sets for its ranks: which MPI family
/// it belongs to, and how many ranks it started (so that a library that sees only one can be refused).
/// </summary>
/// <param name="Name">For messages, e.g. "Open MPI's mpirun (OMPI_COMM_WORLD_SIZE=2)".</param>
/// <param name="Family">The family whose library fits this launcher; null when any fits or none started us.</param>
/// <param name="Size">The number of ranks the launcher started, when it says.</param>
/// <param name="Rank">This process's rank as the launcher numbers it, when it says.</param>
internal sealed record MpiLauncher(string Name, MpiFamily? Family, int? Size, int? Rank)
{
    /// <summary>No launcher: a singleton (<c>dotnet Job.dll</c> on its own).</summary>
    public static readonly MpiLauncher None = new("no MPI launcher", null, null, null);

    /// <summary>True when a launcher says it started ranks (this process is one of them).</summary>
    public bool IsPresent => this != None;

    /// <summary>Reads the current process's environment.</summary>
    public static MpiLauncher Detect() => Detect(Environment.GetEnvironmentVariable);

    /// <summary>
    /// Reads <paramref name="variable"/>: Open MPI's launcher first (it also sets PMIx variables), then
    /// MPICH's hydra (PMI-1 over <c>PMI_FD</c>), then Slurm's <c>srun</c> (PMI2 or PMIx), then a bare PMIx
    /// launcher (e.g. Open MPI 5's prterun without its usual variables).
    /// </summary>
    public static MpiLauncher Detect(Func<string, string?> variable)
    {
        int? Number(string name) =>
            int.TryParse(variable(name), NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v : null;

        if (Number("OMPI_COMM_WORLD_SIZE") is { } ompiSize)
        {
            return new($"Open MPI's mpirun (OMPI_COMM_WORLD_SIZE={ompiSize})", MpiFamily.OpenMpi, ompiSize, Number("OMPI_COMM_WORLD_RANK"));
        }

        var slurmTasks = Number("SLURM_STEP_NUM_TASKS");
        var inSrunStep = slurmTasks is not null && variable("SLURM_STEP_ID") is not null;
        if (Number("PMI_SIZE") is { } pmiSize)
        {
            // Hydra marks its ranks with its control fd; srun --mpi=pmi2 sets PMI_SIZE/PMI_RANK too.
            var name = variable("HYDI_CONTROL_FD") is not null || !inSrunStep
                ? $"MPICH's hydra mpirun (PMI_SIZE={pmiSize})"
                : $"srun with PMI2 (PMI_SIZE={pmiSize})";
            return new(name, MpiFamily.MpichAbi, pmiSize, Number("PMI_RANK"));
        }

        if (inSrunStep)
        {
            return variable("PMIX_RANK") is not null
                ? new($"srun with PMIx (SLURM_STEP_NUM_TASKS={slurmTasks})", MpiFamily.OpenMpi, slurmTasks, Number("SLURM_PROCID"))
                : new($"srun (SLURM_STEP_NUM_TASKS={slurmTasks})", MpiFamily.MpichAbi, slurmTasks, Number("SLURM_PROCID"));
        }

        if (Number("PMIX_RANK") is { } pmixRank)
        {
            return new($"a PMIx launcher (PMIX_RANK={pmixRank})", MpiFamily.OpenMpi, null, pmixRank);
        }

        return None;
    }
}
