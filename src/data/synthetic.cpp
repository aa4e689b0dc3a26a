#include <algorithm>
#include <cmath>
#include <random>

#include "mfkit/data.h"
#include "mfkit/error.h"

namespace mfkit {

Interactions synthetic_ratings(const SyntheticSpec& s) {
  if (s.users < 2 || s.items < 2 || !(s.density > 0 && s.density <= 1) || s.rank < 1)
    throw ParamError("synthetic: users, items >= 2, density in (0, 1], rank >= 1");
  std::mt19937_64 rng(s.seed);
  std::normal_distribution<double> g(0.0, 1.0);
  std::uniform_real_distribution<double> unif(0.0, 1.0);
  const int r = s.rank;
  std::vector<double> U(static_cast<size_t>(s.users) * (r + 1)), V(static_cast<size_t>(s.items) * (r + 1));
  for (auto& x : U) x = g(rng) / std::sqrt(r);
  for (auto& x : V) x = g(rng) / std::sqrt(r);
  std::vector<double> ub(s.users), ib(s.items), pop(s.items);
  for (auto& x : ub) x = 0.4 * g(rng);
  for (auto& x : ib) x = 0.5 * g(rng);
  // Zipf-like item popularity; observation probability scaled to the requested density.
  double mean_pop = 0;
  for (int32_t i = 0; i < s.items; ++i) mean_pop += pop[i] = 1.0 / std::pow(1.0 + i, 0.6);
  mean_pop /= s.items;
  std::shuffle(pop.begin(), pop.end(), rng);
  auto users = std::make_shared<IdMap>(), items = std::make_shared<IdMap>();
  for (int32_t u = 0; u < s.users; ++u) users->add("u" + std::to_string(u + 1));
  for (int32_t i = 0; i < s.items; ++i) items->add("i" + std::to_string(i + 1));
  Coo coo;
  for (int32_t u = 0; u < s.users; ++u) {
    for (int32_t i = 0; i < s.items; ++i) {
      if (unif(rng) >= std::min(1.0, s.density * pop[i] / mean_pop)) continue;
      const double* a = &U[static_cast<size_t>(u) * (r + 1)];
      const double* b = &V[static_cast<size_t>(i) * (r + 1)];
      double dot = 0;
      for (int d = 0; d < r; ++d) dot += a[d] * b[d];
      double nonlinear = std::tanh(2.0 * a[r] * b[r]) + 0.5 * std::tanh(dot) * a[0];
      double x = 3.5 + ub[u] + ib[i] + 1.2 * dot + 0.6 * nonlinear + s.noise * g(rng);
      coo.users.push_back(u);
      coo.items.push_back(i);
      coo.values.push_back(static_cast<float>(std::clamp(std::round(x), 1.0, 5.0)));
    }
  }
  return Interactions::from_coo(coo, users, items);
}

}  // namespace mfkit
