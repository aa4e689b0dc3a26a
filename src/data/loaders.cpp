#include <fmt/format.h>

#include <omp.h>

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstring>
#include <deque>
#include <exception>

#include "core/huge_pages.h"
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
    if (name == "user")
      c = Column::kUser, user = true;
    else if (name == "item")
      c = Column::kItem, item = true;
    else if (name == "rating" || name == "value")
      c = Column::kRating;
    else if (name == "timestamp" || name == "time")
      c = Column::kTimestamp;
    else if (name == "_" || name == "skip")
      c = Column::kSkip;
    else
      throw ParamError("--format: unknown column '" + name + "' (allowed: user, item, rating, timestamp, _ to skip)");
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

std::string shown(std::string_view s) { return "'" + printable(s.substr(0, 40)) + (s.size() > 40 ? "...'" : "'"); }

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

// An id as read: a canonical integer by value, anything else by its text (a view of the file).
struct RawId {
  bool integer = false;
  int64_t value = 0;
  std::string_view text;
  int32_t add(IdMap& m) const { return integer ? m.add_integer(value) : m.add(text); }
  void prefetch(const IdMap& m) const {
    if (integer) m.prefetch_integer(value);
  }
};

// One line read by FastLine, its ids not yet looked up.
struct ParsedLine {
  RawId u, it;
  float value = 0;
  int64_t ts = 0;
};

// One line's fields read in place, without splitting it into views first: the common case of
// a one-byte separator, unquoted fields without surrounding blanks, integer or text ids.
// Returns false when the line needs the general reader (which also names what is wrong with it).
// `p` is the line's first byte; on success it is left past the line.
class FastLine {
 public:
  FastLine(const Format& f, bool binarize, float implicit_value)
      : cols_(f.columns),
        sep_(f.sep.size() == 1 ? f.sep[0] : '\0'),
        quote_(f.quoted),
        binarize_(binarize),
        implicit_value_(implicit_value) {}
  // Not for separators that can be part of a number or an id's first byte ("1-2-5" with '-').
  bool usable() const {
    return sep_ != '\0' && !std::strchr("\n\r\"+-.", sep_) && !std::isalnum(static_cast<unsigned char>(sep_));
  }

  bool parse(const char*& p, const char* end, ParsedLine& out) {
    RawId u, it;
    float value = implicit_value_;
    int64_t ts = 0;
    const char* q = p;
    bool line_over = false;
    for (size_t k = 0; k < cols_.size(); ++k) {
      if (line_over) return false;  // too few fields
      const char* f = q;
      RawId id;
      if (cols_[k] == Column::kUser || cols_[k] == Column::kItem) {
        if (!read_id(q, end, id)) return false;
      } else {
        while (q < end && *q != sep_ && *q != '\n' && *q != '\r') ++q;
      }
      const char* fe = q;
      if (!field_end(q, end, line_over)) return false;
      switch (cols_[k]) {
        case Column::kUser:
          u = id;
          break;
        case Column::kItem:
          it = id;
          break;
        case Column::kRating: {
          if (fe - f == 1 && static_cast<unsigned>(*f - '0') < 10) {  // "5": most ratings and counts
            value = static_cast<float>(*f - '0');
            break;
          }
          if (!parse_float(std::string_view(f, fe - f), value) || !std::isfinite(value)) return false;
          break;
        }
        case Column::kTimestamp: {
          if (!parse_int64(std::string_view(f, fe - f), ts)) return false;
          break;
        }
        case Column::kSkip:
          if (quote_ && std::memchr(f, '"', fe - f)) return false;
          break;
      }
    }
    if (!line_over) {  // fields past the format's are not read, but quotes in them are the general reader's
      const char* nl = static_cast<const char*>(std::memchr(q, '\n', end - q));
      const char* stop = nl ? nl : end;
      if (quote_ && std::memchr(q, '"', stop - q)) return false;
      q = nl ? nl + 1 : end;
    }
    out.u = u;
    out.it = it;
    out.value = binarize_ ? 1.0f : value;
    out.ts = ts;
    p = q;
    return true;
  }

 private:
  // An id: canonical integers by value, anything else by its text (blank, quoted or blank-edged
  // ids go to the general reader).
  bool read_id(const char*& q, const char* end, RawId& id) const {
    const char* f = q;
    const bool neg = q < end && *q == '-';
    if (neg) ++q;
    const char* d = q;
    uint64_t v = 0;
    while (q < end && static_cast<unsigned>(*q - '0') < 10 && q - d < 19)
      v = v * 10 + static_cast<unsigned>(*q++ - '0');
    const bool at_end = q == end || *q == sep_ || *q == '\n' || *q == '\r';
    const size_t digits = static_cast<size_t>(q - d);
    if (at_end && digits >= 1 && digits <= 18 && !(*d == '0' && (digits > 1 || neg))) {
      id.integer = true;
      id.value = neg ? -static_cast<int64_t>(v) : static_cast<int64_t>(v);
      return true;
    }
    unsigned char high = 0;  // bytes past ASCII: the general reader checks them for UTF-8
    while (q < end && *q != sep_ && *q != '\n' && *q != '\r') high |= static_cast<unsigned char>(*q++);
    if (q == f || *f == ' ' || *f == '\t' || q[-1] == ' ' || q[-1] == '\t' || (high & 0x80)) return false;
    if (quote_ && std::memchr(f, '"', q - f)) return false;
    id.integer = false;
    id.text = std::string_view(f, static_cast<size_t>(q - f));
    return true;
  }

  // Past the separator (more fields follow) or the line end ("\n", "\r\n", or the text's end).
  bool field_end(const char*& q, const char* end, bool& line_over) const {
    if (q == end) return line_over = true;
    if (*q == sep_) return ++q, true;
    if (*q == '\r') {
      if (q + 1 != end && q[1] != '\n') return false;
      ++q;
      if (q == end) return line_over = true;
    }
    ++q;  // '\n'
    return line_over = true;
  }

  const std::vector<Column>& cols_;
  char sep_;
  bool quote_, binarize_;
  float implicit_value_;
};

void parse_chunk(Chunk& c, const Format& format, const LoadOptions& opt, bool has_time) {
  const size_t n_cols = format.columns.size();
  const std::string sep_name = format.sep == "\t" ? "tab" : "'" + format.sep + "'";
  // Room for the piece's lines at a guess of 12 bytes each (grown if shorter), on huge pages.
  reserve_huge(c.users, c.text.size() / 12 + 1);
  reserve_huge(c.items, c.text.size() / 12 + 1);
  reserve_huge(c.values, c.text.size() / 12 + 1);
  std::vector<std::string_view> fields;
  std::string scratch;
  int64_t number = 0;  // of the current line in the chunk, from 1
  auto bad = [&](std::string problem) {
    if (!opt.skip_bad_lines) {
      c.failed_at = number;
      c.failure = std::move(problem);
      return;
    }
    c.skipped++;
    if (c.problems.size() < 5) c.problems.emplace_back(number, std::move(problem));
  };
  // The general reader: any separator, quoted fields, blanks around fields, and every problem.
  auto general = [&](std::string_view line) {
    if (trim(line).empty()) return;  // blank lines (a trailing newline) are not data
    c.data_lines++;
    if (!split_fields(line, format.sep, format.quoted, fields, scratch)) return bad("unterminated quoted field");
    if (fields.size() < n_cols)
      return bad(fmt::format("expected {} fields separated by {}, found {}", n_cols, sep_name, fields.size()));
    std::string_view u, it;
    float value = opt.implicit_value;
    int64_t ts = 0;
    for (size_t k = 0; k < n_cols; ++k) {
      std::string_view f = fields[k];
      switch (format.columns[k]) {
        case Column::kUser:
          u = trim(f);
          break;
        case Column::kItem:
          it = trim(f);
          break;
        case Column::kRating:
          if (!parse_float(f, value)) return bad("rating " + shown(f) + " is not a number");
          if (!std::isfinite(value)) return bad("rating " + shown(f) + " is not finite");
          break;
        case Column::kTimestamp:
          if (!parse_int64(f, ts)) return bad("timestamp " + shown(f) + " is not an integer");
          break;
        case Column::kSkip:
          break;
      }
    }
    if (u.empty()) return bad("empty user id");
    if (it.empty()) return bad("empty item id");
    // Ids are printed, written as JSON and sent over HTTP: bytes that are not UTF-8 are refused
    // here, where the line is known, rather than failing (or being mangled) in every later use.
    if (!valid_utf8(u))
      return bad("user id " + shown(u) + " is not valid UTF-8 (convert the file, e.g. iconv -f latin1 -t utf-8)");
    if (!valid_utf8(it))
      return bad("item id " + shown(it) + " is not valid UTF-8 (convert the file, e.g. iconv -f latin1 -t utf-8)");
    c.users.push_back(c.user_ids.add(u));
    c.items.push_back(c.item_ids.add(it));
    c.values.push_back(opt.binarize ? 1.0f : value);
    if (has_time) c.times.push_back(ts);
  };
  // Lines read by the fast path wait in a batch for their ids to be looked up, in file order,
  // with the id table's entries a few lines ahead fetched early: the lookups land all over tables
  // of megabytes, and in a batch they overlap instead of waiting one after the other.
  constexpr size_t kBatch = 256, kAhead = 16;
  std::vector<ParsedLine> batch(kBatch);
  auto flush = [&](size_t pending) {
    for (size_t j = 0; j < pending; ++j) {
      if (j + kAhead < pending) {
        batch[j + kAhead].u.prefetch(c.user_ids);
        batch[j + kAhead].it.prefetch(c.item_ids);
      }
      c.users.push_back(batch[j].u.add(c.user_ids));
      c.items.push_back(batch[j].it.add(c.item_ids));
      c.values.push_back(batch[j].value);
      if (has_time) c.times.push_back(batch[j].ts);
    }
  };
  FastLine fast(format, opt.binarize, opt.implicit_value);
  const bool try_fast = fast.usable();
  const char* p = c.text.data();
  const char* const end = p + c.text.size();
  while (c.failure.empty() && p < end) {
    // A batch of lines by the fast path (its count in a register, not in the chunk), then their
    // ids; a line the fast path leaves goes to the general reader after them, since ids are
    // numbered in order of first appearance.
    size_t got = 0;
    if (try_fast)
      while (got < kBatch && p < end && fast.parse(p, end, batch[got])) ++got;
    number += static_cast<int64_t>(got);
    c.data_lines += static_cast<int64_t>(got);
    flush(got);
    if (got == kBatch || p >= end) continue;
    ++number;
    const char* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(end - p)));
    std::string_view line(p, static_cast<size_t>((nl ? nl : end) - p));
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    p = nl ? nl + 1 : end;
    general(line);
  }
  c.lines_in_text = number;
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
  if (parts < 1 || part < 0 || part >= parts) throw ParamError("text_part: part out of range");
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
      throw InputError(path, 0,
                       fmt::format("no readable lines ({} skipped; first: {})", res.skipped, res.problems.front()));
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
#pragma omp parallel for schedule(static, 1) num_threads(static_cast <int>(chunks.size()))
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
  for (Chunk& c : chunks) {
    if (!c.failure.empty()) throw InputError(path, line_base + c.failed_at, c.failure);
    for (auto& [line, problem] : c.problems)
      if (res.problems.size() < 5) res.problems.push_back(fmt::format("{}:{}: {}", path, line_base + line, problem));
    res.lines += c.data_lines;
    res.skipped += c.skipped;
    line_base += c.lines_in_text;
  }
  // The first piece's maps are the start of the global ones (same order of first appearance);
  // the later pieces' ids are added to them in file order.
  auto users = std::make_shared<IdMap>(std::move(chunks[0].user_ids));
  auto items = std::make_shared<IdMap>(std::move(chunks[0].item_ids));
  std::vector<std::vector<int32_t>> user_of(chunks.size()), item_of(chunks.size());
  for (size_t k = 1; k < chunks.size(); ++k) {
    for (int32_t j = 0; j < chunks[k].user_ids.size(); ++j)
      user_of[k].push_back(users->add(chunks[k].user_ids.name(j)));
    for (int32_t j = 0; j < chunks[k].item_ids.size(); ++j)
      item_of[k].push_back(items->add(chunks[k].item_ids.name(j)));
    chunks[k].user_ids = IdMap();
    chunks[k].item_ids = IdMap();
  }
  // Each later piece's entries renumbered in place; the pieces are handed over as they are.
  std::vector<Coo> parts(chunks.size());
#pragma omp parallel for schedule(static, 1) num_threads(static_cast <int>(chunks.size()))
  for (size_t k = 0; k < chunks.size(); ++k) {
    Chunk& c = chunks[k];
    if (k > 0) {
      for (int32_t& u : c.users) u = user_of[k][u];
      for (int32_t& i : c.items) i = item_of[k][i];
    }
    parts[k].users = std::move(c.users);
    parts[k].items = std::move(c.items);
    parts[k].values = std::move(c.values);
    parts[k].times = std::move(c.times);
    c = Chunk();
  }
  try {
    res.data = Interactions::from_coo(std::move(parts), users, items, opt.duplicates);
  } catch (const InputError&) {
    throw;
  } catch (const Error& e) {
    throw InputError(path, 0, e.what());
  }
  return res;
}

}  // namespace mfkit
