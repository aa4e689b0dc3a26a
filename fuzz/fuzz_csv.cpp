// The ratings loader on any bytes: a file loads or is refused with mfkit::InputError (or a
// ParamError naming a value), never a crash, a hang or another exception. The first byte picks
// the layout, as a user's --format, --sep, --header and flags would.
#include "fuzz/fuzz_util.h"
#include "mfkit/data.h"
#include "mfkit/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace mfkit;
  if (size == 0) return 0;
  const uint8_t pick = data[0];
  static const char* const kFormats[] = {"user,item,rating", "user,item", "user,item,rating,timestamp", "_,user,item"};
  static const char* const kSeps[] = {",", "\t", "::", ";"};
  try {
    Format f = parse_format(kFormats[pick & 3], kSeps[(pick >> 2) & 3], (pick >> 4) & 1);
    f.quoted = (pick >> 5) & 1;
    LoadOptions o;
    o.skip_bad_lines = (pick >> 6) & 1;
    o.duplicates = (pick >> 7) ? DuplicatePolicy::kSum : DuplicatePolicy::kLast;
    o.threads = 1;
    LoadResult r = load_ratings(fuzz::as_file(data + 1, size - 1), f, o);
    if (r.data.nnz() <= 0) std::abort();  // a loaded file holds entries
  } catch (const Error&) {
  }
  return 0;
}
