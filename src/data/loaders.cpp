#include <fmt/format.h>

#include <omp.h>

#include <charconv>
#include <cmath>
#include <deque>
#include <exception>

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

// One piece of the file, parsed on its own thread with its own id maps; their ids are then added
// to the global maps piece by piece, in file order, so the numbering (order of first appearance
// in the file) is the same for any number of pieces.
struct Chunk {
  std::string_view text;
  int64_t lines_in_text = 0;  // physical lines (for line numbers of later chunks)
  int64_t data_lines = 0;
  IdMap user_ids, item_ids;
  std::vector<int32_t> users, items;  // indices in this chunk's maps
  std::vector<float> values;
  std::vector<int64_t> times;
  int64_t skipped = 0;
  std::vector<std::pair<int64_t, std::string>> problems;  // (line in chunk, problem): first 5
  int64_t failed_at = 0;                                  // line in chunk of a fatal problem
  std::string failure;
};

void parse_chunk(Chunk& c, const Format& format, const LoadOptions& opt, bool has_time) {
  const size_t n_cols = format.columns.size();
  const std::string sep_name = format.sep == "\t" ? "tab" : "'" + format.sep + "'";
  c.users.reserve(c.text.size() / 12 + 1);
  c.items.reserve(c.text.size() / 12 + 1);
  c.values.reserve(c.text.size() / 12 + 1);
  LineReader lines(c.text);
  std::string_view line;
  std::vector<std::string_view> fields;
  std::string scratch;
  auto bad = [&](std::string problem) {
    if (!opt.skip_bad_lines) {
      c.failed_at = lines.number();
      c.failure = std::move(problem);
      return;
    }
    c.skipped++;
    if (c.problems.size() < 5) c.problems.emplace_back(lines.number(), std::move(problem));
  };
  while (c.failure.empty() && lines.next(line)) {
    if (trim(line).empty()) continue;  // blank lines (a trailing newline) are not data
    c.data_lines++;
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
    for (size_t k = 0; k < n_cols && ok; ++k) {
      std::string_view f = fields[k];
      switch (format.columns[k]) {
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
    c.users.push_back(c.user_ids.add(u));
    c.items.push_back(c.item_ids.add(it));
    c.values.push_back(opt.binarize ? 1.0f : value);
    if (has_time) c.times.push_back(ts);
  }
  c.lines_in_text = lines.number();
}

// Cuts `body` into about `n` pieces at line ends.
std::vector<std::string_view> cut(std::string_view body, int n) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (int k = 1; k <= n && start < body.size(); ++k) {
    size_t end = k == n ? body.size() : std::max(start, body.size() * k / n);
    if (end < body.size()) {
      end = body.find('\n', end);
      end = end == std::string_view::npos ? body.size() : end + 1;
    }
    if (end > start) out.push_back(body.substr(start, end - start));
    start = end;
  }
  if (out.empty()) out.push_back(body);
  return out;
}

}  // namespace

std::string_view text_part(std::string_view text, int part, int parts) {
  if (parts < 1 || part < 0 || part >= parts) throw Error("text_part: part out of range");
  auto line_start = [&](size_t at) {  // the first line starting at or after byte `at`
    if (at == 0 || at >= text.size()) return std::min(at, text.size());
    size_t nl = text.find('\n', at - 1);
    return nl == std::string_view::npos ? text.size() : nl + 1;
  };
  const size_t b = line_start(text.size() * part / parts), e = line_start(text.size() * (part + 1) / parts);
  return text.substr(b, e - b);
}

std::string_view skip_header(std::string_view body, const std::string& path) {
  if (trim(body).empty()) throw InputError(path, 0, "empty file (expected a header line)");
  size_t nl = body.find('\n');
  return nl == std::string_view::npos ? std::string_view() : body.substr(nl + 1);
}

LoadResult load_ratings(const std::string& path, const Format& format, const LoadOptions& opt) {
  MappedFile file(path);
  std::string_view body = file.text();
  if (format.header) body = skip_header(body, path);
  LoadResult res = parse_ratings(body, path, format.header ? 1 : 0, format, opt, [&] { file.close(); });
  if (res.data.nnz() == 0) {
    if (res.skipped > 0)
      throw InputError(path, 0, fmt::format("no readable lines ({} skipped; first: {})", res.skipped,
                                            res.problems.front()));
    throw InputError(path, 0, "empty file (no data lines)");
  }
  return res;
}

LoadResult parse_ratings(std::string_view body, const std::string& path, int64_t line_base, const Format& format,
                         const LoadOptions& opt, const std::function<void()>& parsed) {
  bool has_time = false;
  for (Column c : format.columns) has_time = has_time || c == Column::kTimestamp;
  const int threads = opt.threads > 0 ? opt.threads : omp_get_max_threads();
  std::vector<std::string_view> pieces = cut(body, body.size() < (size_t(1) << 20) ? 1 : threads);
  std::vector<Chunk> chunks(pieces.size());
  std::exception_ptr error;
#pragma omp parallel for schedule(static, 1) num_threads(static_cast<int>(chunks.size()))
  for (size_t k = 0; k < chunks.size(); ++k) {
    try {
      chunks[k].text = pieces[k];
      parse_chunk(chunks[k], format, opt, has_time);
    } catch (...) {
#pragma omp critical
      if (!error) error = std::current_exception();
    }
  }
  if (error) std::rethrow_exception(error);
  if (parsed) parsed();  // the pieces hold copies of every id: the text is no longer needed

  LoadResult res;
  size_t total = 0;
  for (Chunk& c : chunks) {
    if (!c.failure.empty()) throw InputError(path, line_base + c.failed_at, c.failure);
    for (auto& [line, problem] : c.problems)
      if (res.problems.size() < 5) res.problems.push_back(fmt::format("{}:{}: {}", path, line_base + line, problem));
    res.lines += c.data_lines;
    res.skipped += c.skipped;
    line_base += c.lines_in_text;
    total += c.values.size();
  }
  auto users = std::make_shared<IdMap>();
  auto items = std::make_shared<IdMap>();
  std::vector<size_t> offset(chunks.size() + 1, 0);
  std::vector<std::vector<int32_t>> user_of(chunks.size()), item_of(chunks.size());
  for (size_t k = 0; k < chunks.size(); ++k) {
    offset[k + 1] = offset[k] + chunks[k].values.size();
    for (int32_t j = 0; j < chunks[k].user_ids.size(); ++j) user_of[k].push_back(users->add(chunks[k].user_ids.name(j)));
    for (int32_t j = 0; j < chunks[k].item_ids.size(); ++j) item_of[k].push_back(items->add(chunks[k].item_ids.name(j)));
    chunks[k].user_ids = IdMap();
    chunks[k].item_ids = IdMap();
  }
  Coo coo;
  coo.users.resize(total);
  coo.items.resize(total);
  coo.values.resize(total);
  if (has_time) coo.times.resize(total);
#pragma omp parallel for schedule(static, 1) num_threads(static_cast<int>(chunks.size()))
  for (size_t k = 0; k < chunks.size(); ++k) {
    Chunk& c = chunks[k];
    const size_t o = offset[k];
    for (size_t j = 0; j < c.values.size(); ++j) {
      coo.users[o + j] = user_of[k][c.users[j]];
      coo.items[o + j] = item_of[k][c.items[j]];
    }
    std::copy(c.values.begin(), c.values.end(), coo.values.begin() + o);
    std::copy(c.times.begin(), c.times.end(), coo.times.begin() + o);
    c = Chunk();
  }
  try {
    res.data = Interactions::from_coo(std::move(coo), users, items, opt.duplicates);
  } catch (const InputError&) {
    throw;
  } catch (const Error& e) {
    throw InputError(path, 0, e.what());
  }
  return res;
}

}  // namespace mfkit
