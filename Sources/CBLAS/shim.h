// OpenBLAS's CBLAS interface plus the few LAPACK routines trajprobe calls (Debian's OpenBLAS
// ships LAPACK inside libopenblas but no lapacke.h, so the Fortran symbols are declared here).
// This module provides no stable Swift API.
#include <cblas.h>

/// Symmetric eigen-decomposition (jobz 'V' for vectors, uplo 'U' or 'L'), column-major.
void dsyev_(const char *jobz, const char *uplo, const int *n, double *a, const int *lda,
            double *w, double *work, const int *lwork, int *info);
/// Generalised symmetric-definite eigenproblem A x = lambda B x (itype 1), column-major.
void dsygv_(const int *itype, const char *jobz, const char *uplo, const int *n, double *a,
            const int *lda, double *b, const int *ldb, double *w, double *work, const int *lwork,
            int *info);
/// Cholesky factorisation, column-major.
void dpotrf_(const char *uplo, const int *n, double *a, const int *lda, int *info);
/// General linear solve A X = B, column-major.
void dgesv_(const int *n, const int *nrhs, double *a, const int *lda, int *ipiv, double *b,
            const int *ldb, int *info);
