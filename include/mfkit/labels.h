// mfkit/labels.h - human-readable names that travel with data and models.
#pragma once

#include <string>
#include <vector>

namespace mfkit {

/// Display names by dense index; each vector is empty or one entry per row/column.
struct Labels {
  std::vector<std::string> user_names;       ///< e.g. country names for country codes
  std::vector<std::string> item_titles;      ///< song or movie titles
  std::vector<std::string> item_categories;  ///< artist, genre: the item's category
  bool empty() const { return user_names.empty() && item_titles.empty() && item_categories.empty(); }
};

/// ISO 3166 country names from Debian's iso-codes tables (/usr/share/iso-codes/json), plus
/// common English names the tables spell differently ("Turkey", "Russia", "South Korea", ...).
/// country_name("CO") == "Colombia"; country_code("colombia") == "CO"; "" when unknown.
std::string country_name(const std::string& alpha2);
std::string country_code(const std::string& name);

}  // namespace mfkit
