// Country arithmetic expressions ("Colombia x Turkey - Germany") on a small dotify-like model:
// each answers or is refused with mfkit::Error (QueryError names the position, NotFoundError the
// name); depth and length limits hold for any input.
#include <mutex>

#include "mfkit/data.h"
#include "mfkit/error.h"
#include "mfkit/query.h"
#include "mfkit/registry.h"

namespace {

std::unique_ptr<mfkit::Model> model() {
  using namespace mfkit;
  auto users = std::make_shared<IdMap>(), items = std::make_shared<IdMap>();
  const char* countries[] = {"CO", "TR", "DE", "MX", "FR", "US", "GW"};
  Coo c;
  for (int u = 0; u < 7; ++u)
    for (int t = 0; t < 12; ++t)
      if ((u + t) % 3 != 0) {
        c.users.push_back(users->add(countries[u]));
        c.items.push_back(items->add("t" + std::to_string(t)));
        c.values.push_back(1.0f + static_cast<float>((u * 7 + t * 3) % 11));
      }
  auto m = create_model("implicit-als", "", {{"factors", 4}, {"iterations", 3}});
  Labels labels;
  labels.user_names = {"Colombia", "Turkey", "Germany", "Mexico", "France", "United States", "Guinea-Bissau"};
  FitOptions fo;
  fo.labels = &labels;
  m->fit(Interactions::from_coo(c, users, items), fo);
  return m;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace mfkit;
  static const std::unique_ptr<Model> m = model();
  const std::string expr(reinterpret_cast<const char*>(data), size);
  for (bool normalize : {true, false}) {
    QueryOptions o;
    o.normalize = normalize;
    o.max_depth = 32;
    o.max_length = 1000;
    try {
      run_query(*m, expr, o);
    } catch (const Error&) {
    }
  }
  return 0;
}
