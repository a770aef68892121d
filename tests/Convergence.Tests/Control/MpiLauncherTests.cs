using Convergence.Mpi;

namespace Convergence.Tests.Control;

/// <summary>Which launcher the environment names, and how a library's version text is shortened.</summary>
public sealed class MpiLauncherTests
{
    [Fact]
    public void OpenMpisMpirun_IsOpenMpiWithItsSizeAndRank()
    {
        var launcher = Detect(("OMPI_COMM_WORLD_SIZE", "4"), ("OMPI_COMM_WORLD_RANK", "3"), ("PMIX_RANK", "3"));
        Assert.Equal(new MpiLauncher("Open MPI's mpirun (OMPI_COMM_WORLD_SIZE=4)", MpiFamily.OpenMpi, 4, 3), launcher);
    }

    [Fact]
    public void Hydra_IsMpichAbi()
    {
        var launcher = Detect(("PMI_SIZE", "2"), ("PMI_RANK", "1"), ("PMI_FD", "6"), ("HYDI_CONTROL_FD", "7"));
        Assert.Equal(new MpiLauncher("MPICH's hydra mpirun (PMI_SIZE=2)", MpiFamily.MpichAbi, 2, 1), launcher);
    }

    [Fact]
    public void SrunWithPmi2_IsMpichAbiAndNamedSrun()
    {
        var launcher = Detect(("PMI_SIZE", "8"), ("PMI_RANK", "5"), ("SLURM_STEP_ID", "0"), ("SLURM_STEP_NUM_TASKS", "8"), ("SLURM_PROCID", "5"));
        Assert.Equal(new MpiLauncher("srun with PMI2 (PMI_SIZE=8)", MpiFamily.MpichAbi, 8, 5), launcher);
    }

    [Fact]
    public void SrunWithPmix_IsOpenMpiWithSlurmsCount()
    {
        var launcher = Detect(("PMIX_RANK", "2"), ("SLURM_STEP_ID", "1"), ("SLURM_STEP_NUM_TASKS", "4"), ("SLURM_PROCID", "2"));
        Assert.Equal(new MpiLauncher("srun with PMIx (SLURM_STEP_NUM_TASKS=4)", MpiFamily.OpenMpi, 4, 2), launcher);
    }

    [Fact]
    public void NoLauncherVariables_IsNone()
    {
        Assert.Equal(MpiLauncher.None, Detect());
        Assert.False(Detect().IsPresent);
        Assert.True(Detect(("PMIX_RANK", "0")).IsPresent);
    }

    [Theory]
    [InlineData("MPICH Version:\t4.0.2\nMPICH Release date:\tThu May 26 2022\n", "MPICH 4.0.2")]
    [InlineData("Open MPI v4.1.4, package: Debian OpenMPI, ident: 4.1.4, repo rev: v4.1.4, May 26, 2022\0", "Open MPI v4.1.4")]
    [InlineData("", "version unknown")]
    public void VersionTextIsShortenedToFamilyAndVersion(string text, string expected) =>
        Assert.Equal(expected, MpiRuntime.ShortVersion(text));

    private static MpiLauncher Detect(params (string Name, string Value)[] variables) =>
        MpiLauncher.Detect(name => variables.FirstOrDefault(v => v.Name == name).Value);
}
