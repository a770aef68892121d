/*
 * Does every rank get the same MPI_Allreduce result? Rank 0 contributes NaN to an MPI_MAX and every rank
 * an inexact decimal to an MPI_SUM; each rank prints what it got (the sum in hexadecimal, so a one-bit
 * difference shows). See docs/ARCHITECTURE.md, "Is the reduced residual the same on every rank?".
 *
 *   mpicc.mpich -O2 -o probe-mpich allreduce-probe.c -lm && mpirun.mpich -np 3 ./probe-mpich
 *   mpicc.openmpi -O2 -o probe-ompi allreduce-probe.c -lm && mpirun.openmpi --oversubscribe -np 3 ./probe-ompi
 */
#include <math.h>
#include <mpi.h>
#include <stdio.h>

int main(int argc, char **argv)
{
    int rank, size;
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    double local = rank == 0 ? NAN : 1.0 + rank;
    double part = 0.1 * (rank + 1) + 1e-17 * rank;
    double max, sum;
    MPI_Allreduce(&local, &max, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    MPI_Allreduce(&part, &sum, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
    printf("rank %d of %d: max=%g sum=%a\n", rank, size, max, sum);
    MPI_Finalize();
    return 0;
}
