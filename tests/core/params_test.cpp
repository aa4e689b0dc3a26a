#include "mfkit/params.h"

#include <gtest/gtest.h>

#include <map>

#include "mfkit/error.h"
#include "mfkit/models/biased_mf.h"
#include "mfkit/registry.h"

namespace mfkit {
namespace {

TEST(Params, RoundTripsThroughJson) {
  BiasedMfParams p;
  p.factors = 17;
  p.adaptive = false;
  auto j = params_to_json(p);
  EXPECT_EQ(j["factors"], 17);
  BiasedMfParams q;
  params_from_json(q, j, "biased-mf");
  EXPECT_EQ(q.factors, 17);
  EXPECT_FALSE(q.adaptive);
}

TEST(Params, RejectsUnknownKeyListingValidOnes) {
  BiasedMfParams p;
  try {
    params_from_json(p, {{"factor", 3}}, "biased-mf");
    FAIL();
  } catch (const ParamError& e) {
    EXPECT_NE(std::string(e.what()).find("unknown parameter 'factor'"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("factors"), std::string::npos);
  }
}

TEST(Params, RejectsOutOfRangeAndWrongTypeNamingTheRange) {
  BiasedMfParams p;
  try {
    params_from_json(p, {{"factors", 0}}, "biased-mf");
    FAIL();
  } catch (const ParamError& e) {
    EXPECT_NE(std::string(e.what()).find("[1, 4096]"), std::string::npos);
  }
  EXPECT_THROW(params_from_json(p, {{"factors", 2.5}}, "m"), ParamError);
  EXPECT_THROW(params_from_json(p, {{"adaptive", 1}}, "m"), ParamError);
  EXPECT_THROW(params_from_json(p, {{"learning_rate", "fast"}}, "m"), ParamError);
  EXPECT_EQ(p.factors, BiasedMfParams{}.factors);  // nothing half-applied
}

TEST(Params, DescribesEveryParameterWithItsDefault) {
  auto d = describe_params<BiasedMfParams>();
  ASSERT_FALSE(d.empty());
  bool found = false;
  for (const auto& p : d) {
    EXPECT_FALSE(p.help.empty()) << p.name;
    if (p.name == "factors") {
      found = true;
      EXPECT_EQ(p.default_value, BiasedMfParams{}.factors);
      EXPECT_EQ(p.type, "int");
    }
  }
  EXPECT_TRUE(found);
}

TEST(Params, ParsesKeyValues) {
  auto j = parse_key_values({"factors=32", "learning_rate=0.5", "adaptive=false", "name=x"});
  EXPECT_TRUE(j["factors"].is_number_integer());
  EXPECT_DOUBLE_EQ(j["learning_rate"].get<double>(), 0.5);
  EXPECT_EQ(j["adaptive"], false);
  EXPECT_EQ(j["name"], "x");
  EXPECT_THROW(parse_key_values({"novalue"}), ParamError);
}

TEST(Registry, SearchSpacesLieInsideTheDeclaredRanges) {
  for (const ModelEntry& e : model_registry()) {
    EXPECT_FALSE(e.class_name.empty()) << e.name;
    std::map<std::string, ParamInfo> params;
    for (const ParamInfo& p : e.describe()) params[p.name] = p;
    for (const auto& [name, r] : e.search_space) {
      ASSERT_TRUE(params.count(name)) << e.name << ": search space names unknown parameter " << name;
      EXPECT_LT(r.lo, r.hi) << e.name << "." << name;
      EXPECT_GE(r.lo, params[name].lo) << e.name << "." << name;
      EXPECT_LE(r.hi, params[name].hi) << e.name << "." << name;
      if (r.log) {
        EXPECT_GT(r.lo, 0) << e.name << "." << name;
      }
    }
  }
}

}  // namespace
}  // namespace mfkit
