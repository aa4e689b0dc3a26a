// mfkit/models/ease.h - EASE^R (Steck 2019): a closed-form item-item model.
//
// B = argmin |X - X B|^2 + reg |B|^2 subject to diag(B) = 0, solved exactly:
// P = (X^T X + reg I)^-1, B_ij = -P_ij / P_jj (B_jj = 0). A user's scores are x_u B, so fold-in
// of a new user is one vector-matrix product. The solve (LAPACK's Cholesky inverse, in float)
// holds two item x item matrices at a time, 8 n^2 bytes, and B keeps 4 n^2: catalogues above
// `max_items` are refused.
#pragma once

#include <string>

#include "mfkit/params.h"

namespace mfkit {

struct EaseParams {
  double reg = 500.0;     // L2 on B (Steck's lambda); larger for more data per item
  bool binary = true;     // X holds 1 for every observed cell; false = the training values
  int max_items = 30000;  // refuse larger catalogues (30000 items need about 11 GB)

  void visit(ParamVisitor& v);
  void validate() const {}
};

}  // namespace mfkit
