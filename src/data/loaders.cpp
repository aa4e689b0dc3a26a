#include <fmt/format.h>

#include <charconv>
#include <cmath>

#include "data/text_file.h"
#include "mfkit/data.h"
#include "mfkit/error.h"

namespace mfkit {

Format parse_format(const std::string& columns, const std::string& sep, bool header) {
  Format f;
  f.sep = sep;
  f.header = header;
  if (sep.empty()) throw ParamError("--sep: the separator must not be empty");
  size_t start = 0;
  bool user = false, item = false;
  while (start <= columns.size()) {
    size_t p = columns.find(',', start);
    std::string name = columns.substr(start, p == std::string::npos ? std::string::npos : p - start);
    Column c;
    if (name == "user") c = Column::kUser, user = true;
    else if (name == "item") c = Column::kItem, item = true;
    else if (name == "rating" || name == "value") c = Column::kRating;
    else if (name == "timestamp" || name == "time") c = Column::kTimestamp;
    else if (name == "_" || name == "skip") c = Column::kSkip;
    else
      throw ParamError("--format: unknown column '" + name +
                       "' (allowed: user, item, rating, timestamp, _ to skip)");
    for (Column prev : f.columns)
      if (prev == c && c != Column::kSkip) throw ParamError("--format: column '" + name + "' given twice");
    f.columns.push_back(c);
    if (p == std::string::npos) break;
    start = p + 1;
  }
  if (!user || !item) throw ParamError("--format '" + columns + "': needs at least user and item columns");
  return f;
}

namespace {

bool parse_float(std::string_view s, float& out) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  if (s.empty()) return false;
  if (s.front() == '+') s.remove_prefix(1);
  auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

bool parse_int64(std::string_view s, int64_t& out) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  return !s.empty() && r.ec == std::errc() && r.ptr == s.data() + s.size();
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string shown(std::string_view s) {
  std::string v(s.substr(0, 40));
  return "'" + v + (s.size() > 40 ? "...'" : "'");
}

}  // namespace

LoadResult load_ratings(const std::string& path, const Format& format, const LoadOptions& opt) {
  std::string text = read_file(path);
  LoadResult res;
  auto users = std::make_shared<IdMap>();
  auto items = std::make_shared<IdMap>();
  Coo coo;
  coo.reserve(text.size() / 16 + 16);
  bool has_time = false;
  for (Column c : format.columns) has_time = has_time || c == Column::kTimestamp;
  const size_t n_cols = format.columns.size();
  LineReader lines(text);
  std::string_view line;
  std::vector<std::string_view> fields;
  std::string scratch;
  std::string sep_name = format.sep == "\t" ? "tab" : "'" + format.sep + "'";

  auto bad = [&](const std::string& problem) {
    if (!opt.skip_bad_lines) throw InputError(path, lines.number(), problem);
    res.skipped++;
    if (res.problems.size() < 5) res.problems.push_back(fmt::format("{}:{}: {}", path, lines.number(), problem));
  };

  if (format.header && !lines.next(line)) throw InputError(path, 0, "empty file (expected a header line)");
  while (lines.next(line)) {
    if (trim(line).empty()) continue;  // blank lines (a trailing newline) are not data
    res.lines++;
    if (!split_fields(line, format.sep, format.quoted, fields, scratch)) {
      bad("unterminated quoted field");
      continue;
    }
    if (fields.size() < n_cols) {
      bad(fmt::format("expected {} fields separated by {}, found {}", n_cols, sep_name, fields.size()));
      continue;
    }
    std::string_view u, it;
    float value = opt.implicit_value;
    int64_t ts = 0;
    bool ok = true;
    for (size_t c = 0; c < n_cols && ok; ++c) {
      std::string_view f = fields[c];
      switch (format.columns[c]) {
        case Column::kUser: u = trim(f); break;
        case Column::kItem: it = trim(f); break;
        case Column::kRating:
          if (!parse_float(f, value)) {
            bad("rating " + shown(f) + " is not a number");
            ok = false;
          } else if (!std::isfinite(value)) {
            bad("rating " + shown(f) + " is not finite");
            ok = false;
          }
          break;
        case Column::kTimestamp:
          if (!parse_int64(f, ts)) {
            bad("timestamp " + shown(f) + " is not an integer");
            ok = false;
          }
          break;
        case Column::kSkip: break;
      }
    }
    if (!ok) continue;
    if (u.empty()) { bad("empty user id"); continue; }
    if (it.empty()) { bad("empty item id"); continue; }
    coo.users.push_back(users->add(u));
    coo.items.push_back(items->add(it));
    coo.values.push_back(opt.binarize ? 1.0f : value);
    if (has_time) coo.times.push_back(ts);
  }
  if (coo.size() == 0) {
    if (res.skipped > 0)
      throw InputError(path, 0, fmt::format("no readable lines ({} skipped; first: {})", res.skipped,
                                            res.problems.front()));
    throw InputError(path, 0, "empty file (no data lines)");
  }
  try {
    res.data = Interactions::from_coo(coo, users, items, opt.duplicates);
  } catch (const InputError&) {
    throw;
  } catch (const Error& e) {
    throw InputError(path, 0, e.what());
  }
  return res;
}

}  // namespace mfkit
