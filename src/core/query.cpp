#include "mfkit/query.h"

#include <algorithm>
#include <cctype>
#include <cmath>

#include "core/strings.h"
#include "mfkit/labels.h"

namespace mfkit {

QueryError::QueryError(const std::string& expr, size_t pos, const std::string& problem)
    : Error("query: at position " + std::to_string(pos) + ": " + problem + "\n  " + expr + "\n  " +
            std::string(std::min(pos, expr.size()), ' ') + "^"),
      pos_(pos) {}

namespace {

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1])});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

using Vec = std::vector<float>;

class Parser {
 public:
  Parser(const Model& m, const std::string& e, const QueryOptions& o, const std::vector<float>& rows, int dim)
      : m_(m), e_(e), o_(o), rows_(rows), dim_(dim) {}

  Vec parse(std::vector<int32_t>& used) {
    used_ = &used;
    skip();
    if (pos_ >= e_.size()) throw QueryError(e_, pos_, "empty expression");
    Vec v = expr(0);
    skip();
    if (pos_ < e_.size()) throw QueryError(e_, pos_, std::string("unexpected '") + e_[pos_] + "'");
    return v;
  }

 private:
  void skip() {
    while (pos_ < e_.size() && std::isspace(static_cast<unsigned char>(e_[pos_]))) ++pos_;
  }
  // An operator at pos_: + * / ( ) always; x and - only as a word of their own.
  bool lone(char c) const {
    if (e_[pos_] != c) return false;
    bool before = pos_ == 0 || std::isspace(static_cast<unsigned char>(e_[pos_ - 1])) || e_[pos_ - 1] == ')' ||
                  e_[pos_ - 1] == '(';
    bool after = pos_ + 1 >= e_.size() || std::isspace(static_cast<unsigned char>(e_[pos_ + 1])) ||
                 e_[pos_ + 1] == '(' || e_[pos_ + 1] == '"';
    return before && after;
  }
  bool at_op(const char* ops) const {
    if (pos_ >= e_.size()) return false;
    for (const char* o = ops; *o; ++o) {
      if ((*o == 'x' || *o == 'X' || *o == '-') ? lone(*o) : e_[pos_] == *o) return true;
    }
    return false;
  }
  Vec expr(int depth) {
    Vec v = term(depth);
    skip();
    while (at_op("+-")) {
      char op = e_[pos_++];
      Vec w = term(depth);
      for (int d = 0; d < dim_; ++d) v[d] = op == '+' ? v[d] + w[d] : v[d] - w[d];
      skip();
    }
    return v;
  }
  Vec term(int depth) {
    Vec v = factor(depth);
    skip();
    bool product = false;
    while (at_op("xX*/")) {
      product = true;
      char op = e_[pos_];
      size_t at = pos_++;
      Vec w = factor(depth);
      for (int d = 0; d < dim_; ++d) {
        if (op == '/') {
          if (std::fabs(w[d]) < 1e-12f) throw QueryError(e_, at, "division by a vector with a zero component");
          v[d] /= w[d];
        } else {
          v[d] *= w[d];
        }
      }
      skip();
    }
    // A product of unit vectors is much shorter than one (entries ~1/dim): rescaled to unit
    // length, it weighs as much as a single name in the sum it is part of.
    if (product && o_.normalize) {
      double n2 = 0;
      for (float x : v) n2 += double(x) * x;
      if (n2 > 0)
        for (float& x : v) x = static_cast<float>(x / std::sqrt(n2));
    }
    return v;
  }
  Vec factor(int depth) {
    skip();
    if (pos_ >= e_.size()) throw QueryError(e_, pos_, "expected a name or '(' but the expression ended");
    if (e_[pos_] == '(') {
      if (depth + 1 > o_.max_depth)
        throw QueryError(e_, pos_, "parentheses nested deeper than " + std::to_string(o_.max_depth));
      ++pos_;
      Vec v = expr(depth + 1);
      skip();
      if (pos_ >= e_.size() || e_[pos_] != ')') throw QueryError(e_, pos_, "expected ')'");
      ++pos_;
      return v;
    }
    size_t start = pos_;
    std::string name;
    if (e_[pos_] == '"') {
      size_t end = e_.find('"', pos_ + 1);
      if (end == std::string::npos) throw QueryError(e_, pos_, "unterminated quoted name");
      name = e_.substr(pos_ + 1, end - pos_ - 1);
      pos_ = end + 1;
    } else {
      // Words up to the next operator.
      size_t end = pos_;
      while (pos_ < e_.size()) {
        char c = e_[pos_];
        if (c == '+' || c == '*' || c == '/' || c == '(' || c == ')' || c == '"' || lone('x') || lone('X') || lone('-'))
          break;
        ++pos_;
        if (!std::isspace(static_cast<unsigned char>(c))) end = pos_;
      }
      name = e_.substr(start, end - start);
      if (name.empty()) throw QueryError(e_, start, std::string("expected a name, found '") + e_[start] + "'");
    }
    int32_t row;
    try {
      row = resolve_row(m_, name);
    } catch (const NotFoundError& err) {
      throw QueryError(e_, start, err.what());
    }
    used_->push_back(row);
    return Vec(rows_.begin() + static_cast<size_t>(row) * dim_, rows_.begin() + static_cast<size_t>(row + 1) * dim_);
  }

  const Model& m_;
  const std::string& e_;
  const QueryOptions& o_;
  const std::vector<float>& rows_;
  int dim_;
  size_t pos_ = 0;
  std::vector<int32_t>* used_ = nullptr;
};

void normalise_rows(std::vector<float>& v, int dim) {
  for (size_t r = 0; r * dim < v.size(); ++r) {
    double s = 0;
    for (int d = 0; d < dim; ++d) s += double(v[r * dim + d]) * v[r * dim + d];
    float inv = s > 0 ? static_cast<float>(1.0 / std::sqrt(s)) : 0.0f;
    for (int d = 0; d < dim; ++d) v[r * dim + d] *= inv;
  }
}

}  // namespace

int32_t resolve_row(const Model& model, const std::string& name) {
  const IdMap& ids = *model.user_ids();
  if (int32_t r = ids.find(name); r >= 0) return r;
  const auto& names = model.labels().user_names;
  std::string key = ascii_lower(name);
  for (int32_t r = 0; r < ids.size(); ++r) {
    if (ascii_lower(ids.name(r)) == key) return r;
    if (!names.empty() && ascii_lower(names[r]) == key) return r;
  }
  std::string code = country_code(name);
  if (!code.empty())
    for (int32_t r = 0; r < ids.size(); ++r)
      if (ids.name(r) == code || ascii_lower(ids.name(r)) == ascii_lower(code)) return r;
  // Close matches by edit distance over ids and display names.
  std::vector<std::pair<size_t, std::string>> near;
  for (int32_t r = 0; r < ids.size(); ++r) {
    std::string shown = names.empty() ? ids.name(r) : names[r];
    size_t d = std::min(edit_distance(key, ascii_lower(ids.name(r))), edit_distance(key, ascii_lower(shown)));
    near.push_back({d, shown});
  }
  std::sort(near.begin(), near.end());
  std::string list;
  for (size_t k = 0; k < near.size() && k < 3; ++k) list += (k ? ", " : "") + near[k].second;
  std::string why = code.empty() ? "unknown user '" + name + "'" : "'" + name + "' (" + code + ") is not in this model";
  throw NotFoundError(why + (list.empty() ? "" : "; close matches: " + list));
}

QueryResult run_query(const Model& model, const std::string& expr, const QueryOptions& opt) {
  if (opt.k < 1) throw ParamError("query: k must be at least 1");
  if (expr.size() > opt.max_length)
    throw QueryError(expr.substr(0, 40) + "...", opt.max_length,
                     "expression longer than " + std::to_string(opt.max_length) + " characters");
  int dim = 0, idim = 0;
  std::vector<float> rows = model.user_vectors(&dim), items = model.item_vectors(&idim);
  if (dim == 0 || idim != dim) throw Error("query: model " + model.type() + " has no row and item vectors to combine");
  if (opt.normalize) {
    normalise_rows(rows, dim);
    normalise_rows(items, dim);
  }
  QueryResult res;
  Vec q = Parser(model, expr, opt, rows, dim).parse(res.rows);
  const int32_t n = model.n_items();
  std::vector<float> scores(n);
  for (int32_t i = 0; i < n; ++i) {
    double s = 0;
    for (int d = 0; d < dim; ++d) s += double(q[d]) * items[static_cast<size_t>(i) * dim + d];
    scores[i] = std::isfinite(s) ? static_cast<float>(s) : -INFINITY;
  }
  res.items = top_k(scores.data(), n, opt.k, model.tie_rank());
  // Who holds each answer: one pass over the training items.
  std::vector<int32_t> slot(static_cast<size_t>(n), -1);
  for (size_t j = 0; j < res.items.size(); ++j) slot[res.items[j].index] = static_cast<int32_t>(j);
  res.holders.resize(res.items.size());
  const Csr& seen = model.seen();
  for (int32_t u = 0; u + 1 < static_cast<int32_t>(seen.indptr.size()); ++u)
    for (int64_t e = seen.indptr[u]; e < seen.indptr[u + 1]; ++e)
      if (int32_t j = slot[seen.indices[e]]; j >= 0) {
        Holders& h = res.holders[j];
        if (h.count++ < opt.max_holders) h.rows.push_back(u);
      }
  return res;
}

}  // namespace mfkit
