// Randomised robustness test of the loaders: mutated inputs must either load or raise
// mfkit::InputError, never crash or raise anything else. Seeded, so failures reproduce.
#include <gtest/gtest.h>

#include <random>

#include "mfkit/data.h"
#include "mfkit/error.h"
#include "test_util.h"

namespace mfkit {
namespace {

std::string mutate(std::string s, std::mt19937& rng) {
  static const std::string alphabet = "0123456789\t,:\"\n\r -.eEnaNifx\xff\xc3";
  int edits = 1 + rng() % 6;
  for (int e = 0; e < edits && !s.empty(); ++e) {
    size_t at = rng() % s.size();
    switch (rng() % 4) {
      case 0:
        s[at] = alphabet[rng() % alphabet.size()];
        break;
      case 1:
        s.insert(at, 1, alphabet[rng() % alphabet.size()]);
        break;
      case 2:
        s.erase(at, 1 + rng() % 4);
        break;
      case 3:
        s.resize(at);
        break;  // truncation
    }
  }
  return s;
}

TEST(LoaderFuzz, MutatedInputsLoadOrFailCleanly) {
  const std::string seed_tsv = "1\t10\t4\t100\n2\t11\t3.5\t101\n3\t10\t1\t102\n1\t12\t5\t103\n";
  const std::string seed_csv = "u,i,r\n\"a\",b,1\nc,\"d,e\",2\nf,g,3\n";
  test::TempDir d;
  std::mt19937 rng(12345);
  int loaded = 0, rejected = 0;
  for (int n = 0; n < 3000; ++n) {
    bool csv = n % 2;
    std::string text = mutate(csv ? seed_csv : seed_tsv, rng);
    auto p = d.file("f" + std::to_string(n % 4), text);
    Format f =
        csv ? parse_format("user,item,rating", ",", true) : parse_format("user,item,rating,timestamp", "\t", false);
    f.quoted = csv;
    LoadOptions o;
    o.skip_bad_lines = n % 3 == 0;
    try {
      LoadResult r = load_ratings(p, f, o);
      EXPECT_GT(r.data.nnz(), 0);
      ++loaded;
    } catch (const InputError&) {
      ++rejected;
    }
  }
  EXPECT_GT(loaded, 100);
  EXPECT_GT(rejected, 100);
}

}  // namespace
}  // namespace mfkit
