using System.Globalization;
using System.Text;
using Convergence.Output;
using MathNet.Numerics.LinearAlgebra;

namespace Convergence.Examples.BiCgStab;

/// <summary>Writes a grid field as legacy VTK image data (<c>STRUCTURED_POINTS</c>), which ParaView and VisIt open.</summary>
public static class VtkImage
{
    /// <summary>Writes the N×N interior solution atomically; returns the full path (for the result file).</summary>
    public static string Write(string path, int n, Vector<double> solution)
    {
        var h = 1.0 / (n + 1);
        var sb = new StringBuilder((n * n * 24) + 256);
        sb.Append("# vtk DataFile Version 3.0\nconvection-diffusion solution\nASCII\nDATASET STRUCTURED_POINTS\n");
        sb.Append(CultureInfo.InvariantCulture, $"DIMENSIONS {n} {n} 1\nORIGIN {h:R} {h:R} 0\nSPACING {h:R} {h:R} 1\n");
        sb.Append(CultureInfo.InvariantCulture, $"POINT_DATA {n * n}\nSCALARS u double 1\nLOOKUP_TABLE default\n");
        foreach (var value in solution)
        {
            sb.Append(value.ToString("R", CultureInfo.InvariantCulture)).Append('\n');
        }

        var full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        AtomicFile.WriteAllText(full, sb.ToString(), durable: true);
        return full;
    }
}
