/* The one-out forecast-implied kernel of allora_ref.spec.inference_synthesis as a compiled loop,
 * for `make bench` only (never a dependency of the package). Same algorithm: the per-row terms
 * (downdated spreads, top-two best members, guard-rail cap and shift) come from the package's
 * OneOutWeights, and this loop does the O(N_i^2 N_f) part with one exponential and one division
 * per (withheld inferer j, forecaster k, inferer l) element:
 *
 *   w = 0 if l == j or l is not a member, else 1 / (exp(slope_jk min(R_kl, cap_jk)) + floor_jk);
 *   out_jk = sum_l w I_l / sum_l w  (NaN where no weight is positive).
 *
 * Built with gcc -O3 -march=native -ffast-math, so exp is glibc's vector exp (libmvec); masks
 * replace the package's infinities, which -ffast-math does not allow.
 */
#include <math.h>
#include <stddef.h>

void one_out(size_t n_i, size_t n_f, const double *regrets, const double *member,
             const double *inferences, const double *slope, const double *cap,
             const double *floor_, double *out)
{
    for (size_t j = 0; j < n_i; j++) {
        for (size_t k = 0; k < n_f; k++) {
            const double *r = regrets + k * n_i, *m = member + k * n_i;
            const double s = slope[j * n_f + k], c = cap[j * n_f + k], f = floor_[j * n_f + k];
            double num = 0.0, den = 0.0;
#pragma omp simd reduction(+:num, den)
            for (size_t l = 0; l < n_i; l++) {
                const double x = r[l] < c ? r[l] : c;
                const double keep = (m[l] != 0.0 && l != j) ? 1.0 : 0.0;
                const double w = keep / (exp(s * x) + f);
                num += w * inferences[l];
                den += w;
            }
            out[j * n_f + k] = den > 0.0 ? num / den : NAN;
        }
    }
}
