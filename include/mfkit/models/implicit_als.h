// mfkit/models/implicit_als.h - implicit-feedback MF (Hu, Koren, Volinsky 2008) by ALS.
//
// Every (user, item) cell counts: preference p = [r > 0], confidence c = 1 + alpha*r ("linear"),
// 1 + alpha*log(1 + r/epsilon) ("log"), or alpha*r ("implicit", the `implicit` library's
// convention, for side-by-side comparison). The objective
//   sum_{u,i} c_ui (p_ui - x_u.y_i)^2 + reg (|X|^2 + |Y|^2)
// is minimised by alternating exact ridge solves ("cholesky") or a few warm-started
// conjugate-gradient steps ("cg", Takacs et al. 2011), with Y^T Y computed once per half-sweep
// so a row costs O(n_u f + f^2) per CG step. Unobserved cells never get materialised.
#pragma once

#include <string>

#include "mfkit/params.h"

namespace mfkit {

struct ImplicitAlsParams {
  int factors = 64;                   // latent dimension
  int iterations = 15;                // full sweeps (users, then items)
  double reg = 0.1;                   // L2 on user and item factors
  double alpha = 1.0;                 // confidence slope
  double epsilon = 1.0;               // "log" scheme: r is divided by epsilon inside the log
  std::string confidence = "linear";  // linear (1+a*r) | log (1+a*log(1+r/eps)) | implicit (a*r)
  std::string solver = "cg";          // cg (warm-started conjugate gradient) | cholesky (exact)
  int cg_steps = 3;                   // CG steps per row and half-sweep
  double init_std = 0.01;             // std of the normal initial factors
  bool compute_loss = false;          // report the full objective each iteration (O(nnz f) extra; off as in implicit)

  void visit(ParamVisitor& v);
  void validate() const;
};

}  // namespace mfkit
