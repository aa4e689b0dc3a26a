// A synthetic implicit-feedback matrix like the one the `implicit` library was measured on:
// 138k users x 27k items, power-law item popularity; 10.8M draws give about 10M distinct cells.
#pragma once

#include <algorithm>
#include <cmath>
#include <random>

#include "mfkit/interactions.h"

namespace mfkit::bench {

inline Interactions synthetic_implicit(int32_t users = 138000, int32_t items = 27000, int64_t target = 10800000,
                                       uint64_t seed = 42) {
  std::mt19937_64 rng(seed);
  std::vector<double> cdf(items);
  double s = 0;
  for (int32_t i = 0; i < items; ++i) cdf[i] = s += 1.0 / std::pow(i + 1.0, 0.8);
  for (auto& c : cdf) c /= s;
  std::uniform_real_distribution<double> unif(0, 1);
  std::exponential_distribution<double> activity(1.0);
  auto u_ids = std::make_shared<IdMap>(), i_ids = std::make_shared<IdMap>();
  for (int32_t u = 0; u < users; ++u) u_ids->add(std::to_string(u));
  for (int32_t i = 0; i < items; ++i) i_ids->add(std::to_string(i));
  Coo c;
  c.reserve(target);
  const double mean = static_cast<double>(target) / users;
  for (int32_t u = 0; u < users; ++u) {
    int64_t n = std::max<int64_t>(1, std::llround(mean * activity(rng)));
    for (int64_t k = 0; k < n; ++k) {
      int32_t i = static_cast<int32_t>(std::lower_bound(cdf.begin(), cdf.end(), unif(rng)) - cdf.begin());
      c.users.push_back(u);
      c.items.push_back(std::min(i, items - 1));
      c.values.push_back(1.0f + static_cast<float>(rng() % 5));
    }
  }
  return Interactions::from_coo(c, u_ids, i_ids, DuplicatePolicy::kSum);
}

}  // namespace mfkit::bench
