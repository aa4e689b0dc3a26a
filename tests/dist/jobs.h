// Test helper: small rating files and `mfkit train` command lines for the distributed tests.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "dist/ranks.h"
#include "test_util.h"

namespace mfkit::test {

// Distinct (user, item) pairs with power-law items, as text lines "u17,i3,4". Ratings are
// random, or with `groups` 5 when user and item share their parity and 1 otherwise (a rank-one
// pattern a factor model can learn).
inline std::vector<std::string> make_lines(int n, bool groups = false) {
  std::mt19937 rng(7);
  std::map<std::pair<int, int>, int> cells;
  while (static_cast<int>(cells.size()) < n) {
    const int u = static_cast<int>(rng() % 700);
    const int i = static_cast<int>(std::pow(500.0, std::uniform_real_distribution<double>(0, 1)(rng)));
    const int v = 1 + static_cast<int>(rng() % 5);
    cells[{u, i}] = groups ? (u % 2 == i % 2 ? 5 : 1) : v;
  }
  std::vector<std::string> lines;
  for (auto& [c, v] : cells)
    lines.push_back("u" + std::to_string(c.first) + ",i" + std::to_string(c.second) + "," + std::to_string(v));
  std::shuffle(lines.begin(), lines.end(), rng);
  return lines;
}

inline void write_lines(const std::string& path, const std::vector<std::string>& lines, size_t b, size_t e) {
  std::ofstream f(path);
  for (size_t j = b; j < e; ++j) f << lines[j] << "\n";
}

// A file of n such lines in `d`; its path.
inline std::string data_file(TempDir& d, int n) {
  auto lines = make_lines(n);
  const std::string path = d.path("r.csv");
  write_lines(path, lines, 0, lines.size());
  return path;
}

inline std::vector<std::string> train_args(const std::string& data, const std::string& model, const std::string& out,
                                           const std::vector<std::string>& extra) {
  std::vector<std::string> a{
      MFKIT_CLI_PATH, "train", "-m", model,       "--data", data, "--format", "user,item,rating", "--split", "none",
      "--threads",    "1",     "-q", "--timeout", "30",     "-o", out};
  a.insert(a.end(), extra.begin(), extra.end());
  return a;
}

inline std::string joined(const std::vector<std::string>& args) {
  std::string s;
  for (size_t j = 1; j < args.size(); ++j) s += (j > 1 ? " " : "") + args[j];
  return s;
}

inline void expect_all_ok(const std::vector<Rank>& ranks) {
  for (size_t r = 0; r < ranks.size(); ++r) EXPECT_EQ(ranks[r].code, 0) << "rank " << r << ": " << ranks[r].err;
}

}  // namespace mfkit::test
