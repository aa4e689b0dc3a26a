#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <map>
#include <mutex>

#include "core/json.h"
#include "data/text_file.h"
#include "mfkit/labels.h"

namespace mfkit {

namespace {

struct Tables {
  std::map<std::string, std::string> name_of;  // alpha-2 -> display name
  std::map<std::string, std::string> code_of;  // lower-case name or code -> alpha-2
};

const Tables& tables() {
  static Tables t;
  static std::once_flag once;
  std::call_once(once, [] {
    {
      try {
        auto j = parse_json(read_file("/usr/share/iso-codes/json/iso_3166-1.json"));
        for (const auto& c : j.at("3166-1")) {
          std::string a2 = c.at("alpha_2");
          std::string display = c.value("common_name", c.at("name").get<std::string>());
          t.name_of[a2] = display;
          for (const char* key : {"alpha_2", "alpha_3", "name", "common_name", "official_name"})
            if (c.contains(key)) t.code_of[ascii_lower(c.at(key).get<std::string>())] = a2;
        }
      } catch (const std::exception&) {
        // A damaged table leaves only the aliases below; codes still work.
      }
    }
    // English names the ISO tables spell differently.
    const std::pair<const char*, const char*> aliases[] = {
        {"turkey", "TR"},        {"turkiye", "TR"}, {"russia", "RU"},  {"south korea", "KR"}, {"korea", "KR"},
        {"vietnam", "VN"},       {"bolivia", "BO"}, {"taiwan", "TW"},  {"uk", "GB"},          {"britain", "GB"},
        {"great britain", "GB"}, {"england", "GB"}, {"usa", "US"},     {"america", "US"},     {"czech republic", "CZ"},
        {"holland", "NL"},       {"uae", "AE"},     {"emirates", "AE"}};
    for (auto [n, c] : aliases) t.code_of.emplace(n, c);
  });
  return t;
}

}  // namespace

std::string country_name(const std::string& alpha2) {
  const auto& t = tables();
  auto it = t.name_of.find(alpha2);
  return it == t.name_of.end() ? "" : it->second;
}

std::string country_code(const std::string& name) {
  const auto& t = tables();
  auto it = t.code_of.find(ascii_lower(name));
  return it == t.code_of.end() ? "" : it->second;
}

}  // namespace mfkit
