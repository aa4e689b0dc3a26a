// mfkit/models/popularity.h - the non-personalised baseline: items ranked by how often they occur.
//
// score(u, i) = count(i) / n_users ("count"), or the summed training values over n_users ("sum",
// e.g. play counts). Every user gets the same ranking, less the items they have seen: the
// reference row of every ranking table.
#pragma once

#include <string>

#include "mfkit/params.h"

namespace mfkit {

struct PopularityParams {
  std::string weight = "count";  // count (users per item) | sum (summed training values)

  void visit(ParamVisitor& v);
  void validate() const {}
};

}  // namespace mfkit
