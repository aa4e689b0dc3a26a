// The server's request path on any bytes: parsed by the server's parser and limits, decoded and
// answered by the Service over a small model (with an API key, so both sides of the key check
// run). Every request gets a status in [200, 600) and a body; none crashes or throws.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "mfkit/model_file.h"
#include "mfkit/registry.h"
#include "mfkit/serve.h"
#include "serve/request.h"

namespace {

mfkit::Service& service() {
  using namespace mfkit;
  static std::unique_ptr<Service> svc = [] {
    const std::string dir = std::filesystem::temp_directory_path() / ("mfkit-fuzz-http-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    auto users = std::make_shared<IdMap>(), items = std::make_shared<IdMap>();
    Coo c;
    for (int u = 0; u < 9; ++u)
      for (int i = 0; i < 15; ++i)
        if ((u + 2 * i) % 3 != 0) {
          c.users.push_back(users->add("u" + std::to_string(u)));
          c.items.push_back(items->add("i" + std::to_string(i)));
          c.values.push_back(1.0f + static_cast<float>((u * i) % 5));
        }
    auto m = create_model("implicit-als", "", {{"factors", 4}, {"iterations", 2}});
    m->fit(Interactions::from_coo(c, users, items));
    save_model(*m, dir + "/m.mfk");
    std::ofstream(dir + "/key") << "0123456789abcdef0123\n";
    ServeOptions o;
    o.models = {{"m", dir + "/m.mfk"}};
    o.api_key_file = dir + "/key";
    o.quiet = true;
    o.max_k = 50;
    auto s = std::make_unique<Service>(o);
    std::filesystem::remove_all(dir);
    return s;
  }();
  return *svc;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  mfkit::Response r = mfkit::answer_bytes(service(), std::string_view(reinterpret_cast<const char*>(data), size));
  if (r.status < 200 || r.status >= 600 || r.body.empty()) std::abort();
  return 0;
}
