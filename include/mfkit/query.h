// mfkit/query.h - dotify's "country arithmetic": item recommendations for an expression over
// named rows, e.g. `Colombia x Turkey - Germany`.
//
// Grammar (left to right, `x`/`*` and `/` bind tighter than `+` and `-`):
//   expr   := term (('+' | '-') term)*
//   term   := factor (('x' | '*' | '/') factor)*
//   factor := NAME | '"' any text '"' | '(' expr ')'
// A NAME is one or more words; a lone `x` or `-` between spaces is an operator, so put spaces
// around operators ("Guinea-Bissau" stays one name). Names resolve to rows by raw id, by display
// name (case-insensitive) and, for countries, by ISO 3166 name or code ("CO", "Colombia").
// Rows and items are L2-normalised first (as dotify does) unless `normalize` is false, and a
// product or quotient is rescaled to unit length so that every term of a sum weighs the same
// (`Colombia x Turkey - Germany` is "like Colombia and Turkey together, unlike Germany" rather
// than "unlike Germany": the raw product of unit vectors is ~1/dim as long). The composite
// vector scores items by dot product.
#pragma once

#include <string>
#include <vector>

#include "mfkit/error.h"
#include "mfkit/model.h"
#include "mfkit/recommend.h"

namespace mfkit {

/// A malformed expression; what() names the position (0-based character offset).
class QueryError : public Error {
 public:
  QueryError(const std::string& expr, size_t pos, const std::string& problem);
  size_t position() const { return pos_; }

 private:
  size_t pos_;
};

struct QueryOptions {
  int k = 5;                 ///< items to return
  bool normalize = true;     ///< L2-normalise row and item vectors (false: raw norms, popularity-heavy)
  int max_depth = 64;        ///< deepest parenthesis nesting accepted
  size_t max_length = 4096;  ///< longest expression accepted
  int max_holders = 20;      ///< at most this many of each answer's holders are listed
};

/// The rows that had one answer among their training items (for dotify: the countries whose
/// charts it was in), so that a reader sees what the arithmetic did.
struct Holders {
  std::vector<int32_t> rows;  ///< ascending, at most QueryOptions::max_holders
  int64_t count = 0;          ///< all of them
};

struct QueryResult {
  std::vector<Scored> items;     ///< best first (ties by Model::tie_rank())
  std::vector<int32_t> rows;     ///< the rows the names resolved to, in order of appearance
  std::vector<Holders> holders;  ///< one per item
};

QueryResult run_query(const Model& model, const std::string& expr, const QueryOptions& opt = {});

/// The row a name resolves to; NotFoundError listing close matches when none does.
int32_t resolve_row(const Model& model, const std::string& name);

}  // namespace mfkit
