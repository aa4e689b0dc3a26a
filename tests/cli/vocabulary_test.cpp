// One CLI vocabulary: every subcommand's options, read from its own --help, spell one meaning
// one way. -m/--model is a model type, -f/--model-file a model file, --data a dataset name or
// file; a short flag stands for one long name everywhere. Old spellings still work, with a notice.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <sstream>

#include "kernels/dispatch.h"
#include "mfkit/version.h"
#include "test_util.h"

namespace mfkit {
namespace {

struct Option {
  std::vector<std::string> names;
  std::string help;
};

std::string trim(const std::string& s) {
  size_t a = s.find_first_not_of(' ');
  return a == std::string::npos ? "" : s.substr(a, s.find_last_not_of(' ') - a + 1);
}

// The "Options:" and "Subcommands:" sections of CLI11's help.
void read_help(const std::string& text, std::vector<Option>& options, std::vector<std::string>& subcommands) {
  std::istringstream in(text);
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  std::string section;
  for (size_t n = 0; n < lines.size(); ++n) {
    const std::string& l = lines[n];
    if (!l.empty() && l[0] != ' ') {
      section = l;
      continue;
    }
    if (l.size() < 3 || l[2] == ' ') continue;
    std::string first = l.substr(2, l.find(' ', 2) - 2);
    if (section.rfind("Subcommands", 0) == 0) {
      subcommands.push_back(first);
    } else if (section.rfind("Options", 0) == 0 && first[0] == '-') {
      Option o;
      std::stringstream names(first);
      for (std::string name; std::getline(names, name, ',');) o.names.push_back(name);
      o.help = l.size() > 30 ? trim(l.substr(30)) : "";
      if ((o.help.empty() || l[29] != ' ') && n + 1 < lines.size()) o.help = trim(lines[n + 1]);
      options.push_back(o);
    }
  }
}

TEST(CliVocabulary, EveryOptionSpellsOneMeaningOneWay) {
  std::vector<Option> top;
  std::vector<std::string> todo;
  read_help(test::run_cli("--help").out, top, todo);
  ASSERT_GE(todo.size(), 15u) << "subcommands not found in mfkit --help";
  std::map<std::string, std::set<std::string>> long_of_short, short_of_long;
  std::map<std::string, std::vector<std::string>> where;
  for (size_t n = 0; n < todo.size(); ++n) {
    test::CliRun r = test::run_cli(todo[n] + " --help");
    ASSERT_EQ(r.code, 0) << todo[n] << ": " << r.out;
    std::vector<Option> options;
    std::vector<std::string> nested;
    read_help(r.out, options, nested);
    for (const std::string& s : nested) todo.push_back(todo[n] + " " + s);
    for (const Option& o : options) {
      std::string shortname, longname;
      for (const std::string& name : o.names) (name.rfind("--", 0) == 0 ? longname : shortname) = name;
      if (longname == "--help") continue;
      if (!shortname.empty()) long_of_short[shortname].insert(longname);
      if (!longname.empty()) short_of_long[longname].insert(shortname);
      where[longname.empty() ? shortname : longname].push_back(todo[n]);
      if (longname == "--model") {
        EXPECT_EQ(o.help.rfind("model type", 0), 0u)
            << "mfkit " << todo[n] << ": --model must be a model type: " << o.help;
      }
      if (longname == "--model-file") {
        EXPECT_NE(o.help.find("model file"), std::string::npos) << "mfkit " << todo[n] << ": " << o.help;
      }
      if (longname == "--data") {
        EXPECT_NE(o.help.find("dataset"), std::string::npos) << "mfkit " << todo[n] << ": --data: " << o.help;
      }
      for (const char* reserved : {"-m", "-f"}) {
        if (shortname == reserved) {
          EXPECT_EQ(longname, std::string(reserved) == "-m" ? "--model" : "--model-file") << "mfkit " << todo[n];
        }
      }
    }
  }
  for (const auto& [s, longs] : long_of_short) {
    std::string all;
    for (const auto& l : longs) all += " " + (l.empty() ? "(none)" : l);
    EXPECT_EQ(longs.size(), 1u) << s << " stands for several options:" << all;
  }
  for (const auto& [l, shorts] : short_of_long) {
    std::set<std::string> named(shorts);
    named.erase("");
    EXPECT_LE(named.size(), 1u) << l << " has several short forms";
  }
  EXPECT_GE(where["--model-file"].size(), 8u)
      << "predict, recommend, similar, query, explain, eval, index, serve, impute";
  EXPECT_GE(where["--model"].size(), 2u) << "train, refit";
}

TEST(CliVocabulary, OldSpellingsStillWorkWithANotice) {
  test::TempDir d;
  std::string absent = d.path("absent.mfk");
  test::CliRun impute = test::run_cli("impute --model " + absent + " --data " + d.file("r.csv", "1,2,3\n") +
                                      " --format user,item,rating");
  EXPECT_EQ(impute.code, 1) << impute.out;
  EXPECT_NE(impute.out.find("old spelling"), std::string::npos) << impute.out;
  EXPECT_NE(impute.out.find("-f/--model-file"), std::string::npos) << impute.out;
  EXPECT_NE(impute.out.find(absent), std::string::npos) << "the old spelling must still name the file: " << impute.out;
  test::CliRun serve = test::run_cli("serve -m " + absent + " --port 0");
  EXPECT_EQ(serve.code, 1) << serve.out;
  EXPECT_NE(serve.out.find("old spelling"), std::string::npos) << serve.out;
  EXPECT_NE(serve.out.find(absent), std::string::npos) << serve.out;
  test::CliRun none = test::run_cli("serve --port 0");
  EXPECT_EQ(none.code, 1);
  EXPECT_NE(none.out.find("-f/--model-file"), std::string::npos) << none.out;
}

TEST(CliVocabulary, VersionNamesTheReleaseAndTheSourceRevision) {
  test::CliRun r = test::run_cli("--version");
  EXPECT_EQ(r.code, 0);
  // The first line names the release; the second the kernels that run (docs/kernels.md).
  EXPECT_EQ(r.out.substr(0, r.out.find('\n') + 1),
            std::string("mfkit ") + version() + " (" + source_revision() + ")\n");
  EXPECT_NE(r.out.find("\nkernels: " + kernel_info().isa + " (available here: baseline"), std::string::npos) << r.out;
  EXPECT_NE(std::string(source_revision()), "");
}

}  // namespace
}  // namespace mfkit
