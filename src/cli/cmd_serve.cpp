// mfkit serve / ingest / refit: dotify as a service.
#include <fmt/format.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <regex>
#include <thread>

#include "cli/common.h"
#include "cli/progress.h"
#include "data/charts.h"
#include "mfkit/error.h"
#include "mfkit/params.h"
#include "mfkit/serve.h"
#include "mfkit/store.h"

namespace fs = std::filesystem;

namespace mfkit::cli {

namespace {

struct ServeArgs {
  ServeOptions opt;
  std::vector<std::string> models, old_models;  // -f/--model-file, and its old spelling -m/--model
};

void run_serve(ServeArgs& a) {
  for (const std::string& m : a.models) {
    size_t eq = m.find('=');
    std::string name = eq == std::string::npos ? fs::path(m).stem().string() : m.substr(0, eq);
    std::string path = eq == std::string::npos ? m : m.substr(eq + 1);
    if (name.empty() || path.empty()) throw ParamError("--model-file '" + m + "': expected NAME=FILE or FILE");
    a.opt.models.emplace_back(name, path);
  }
  // SIGINT/SIGTERM are taken by a thread that stops the server (no work in a signal handler).
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  Server server(a.opt);
  std::thread waiter([&server, set] {
    int sig = 0;
    sigwait(&set, &sig);
    server.stop();
  });
  if (!a.opt.quiet)
    fmt::print(stderr, "mfkit serve: {}://{}:{}/ ({} model(s), {} threads{})\n",
               a.opt.tls_cert.empty() ? "http" : "https", a.opt.host, server.port(), a.opt.models.size(), a.opt.threads,
               a.opt.api_key_file.empty() ? "" : ", API key required");
  server.run();
  pthread_kill(waiter.native_handle(), SIGTERM);  // wakes the waiter when run() ended on its own
  waiter.join();
}

struct IngestArgs {
  std::string store, date;
  std::vector<std::string> files;
  bool replace = false, list = false, json = false;
};

// A day's files: folders are expanded to their chart files (regional-*.csv, charts_long.csv).
std::vector<std::string> expand(const std::vector<std::string>& paths) {
  std::vector<std::string> out;
  for (const auto& p : paths) {
    if (!fs::is_directory(p)) {
      out.push_back(p);
      continue;
    }
    std::vector<std::string> files = chart_files(p);
    out.insert(out.end(), files.begin(), files.end());
  }
  return out;
}

// The date in names like regional-co-daily-2021-04-24.csv, or "".
std::string date_from_names(const std::vector<std::string>& files) {
  static const std::regex re(R"(-daily-(\d{4}-\d{2}-\d{2})\.csv$)");
  std::string date;
  for (const auto& f : files) {
    std::smatch m;
    std::string name = fs::path(f).filename().string();
    if (!std::regex_search(name, m, re)) return "";
    if (!date.empty() && date != m[1].str())
      throw ParamError("ingest: the files carry different dates (" + date + ", " + m[1].str() +
                       "); ingest one day at a time");
    date = m[1].str();
  }
  return date;
}

void run_ingest(const IngestArgs& a) {
  ChartStore store(a.store);
  if (a.list) {
    nlohmann::json days = nlohmann::json::array();
    for (const auto& d : store.days())
      days.push_back({{"date", d.date}, {"regions", d.regions}, {"rows", d.rows}, {"streams", d.streams}});
    if (a.json) return print_json(days);
    for (const auto& d : days)
      fmt::print("{}  {:>3} regions  {:>6} rows  {:>12} streams\n", d["date"].get<std::string>(),
                 d["regions"].get<int>(), d["rows"].get<int64_t>(), d["streams"].get<int64_t>());
    return;
  }
  if (a.files.empty()) throw ParamError("ingest: give the day's chart files or their folder (or --list)");
  std::vector<std::string> files = expand(a.files);
  std::string date = a.date.empty() ? date_from_names(files) : a.date;
  if (date.empty())
    throw ParamError("ingest: the file names carry no date (regional-<cc>-daily-latest.csv); pass --date YYYY-MM-DD");
  IngestReport r = store.ingest(date, files, a.replace);
  nlohmann::json out = {{"date", r.date},         {"added", r.added},           {"unchanged", r.unchanged},
                        {"replaced", r.replaced}, {"rows_added", r.rows_added}, {"store", a.store}};
  if (a.json) return print_json(out);
  fmt::print("{}: {} regions added ({} rows), {} unchanged, {} replaced\n", r.date, r.added.size(), r.rows_added,
             r.unchanged.size(), r.replaced.size());
}

struct RefitArgs {
  Common common;
  std::string store, out;
  RefitOptions opt;
  std::vector<std::string> sets;
};

void run_refit(RefitArgs& a) {
  if (!fs::exists(a.store)) throw InputError(a.store, 0, "no chart store here; run mfkit ingest first");
  ChartStore store(a.store);
  a.opt.params = parse_key_values(a.sets);
  a.opt.ctx = Context{a.common.threads, a.common.seed};
  Progress progress(a.opt.model, a.common.quiet || a.common.json);
  a.opt.on_epoch = progress.callback();
  nlohmann::json r = refit(store, a.out, a.opt);
  progress.finish();
  if (a.common.json) return print_json(r);
  fmt::print("refit {} on {} days ({} .. {}): {} countries x {} tracks in {:.2f} s; saved {}\n", a.opt.model,
             r["days"].get<int>(), r["from"].get<std::string>(), r["to"].get<std::string>(), r["countries"].get<int>(),
             r["tracks"].get<int>(), r["train_seconds"].get<double>(), a.out);
}

}  // namespace

void add_serve(CLI::App& app) {
  auto a = std::make_shared<ServeArgs>();
  auto* c = app.add_subcommand(
      "serve", "answer recommendations, similar items and country arithmetic over HTTP, with a web page");
  c->add_option("--model-file,-f", a->models,
                "model file to serve, as FILE or NAME=FILE (repeatable; the first is the default)")
      ->take_all();
  add_old_spelling(c, "--model,-m", a->old_models, "-f/--model-file")->take_all();
  c->add_option("--host", a->opt.host, "address to listen on (off loopback: --api-key-file or --insecure)")
      ->capture_default_str();
  c->add_option("--port,-p", a->opt.port, "TCP port (0 = any free port)")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  c->add_option("--threads", a->opt.threads, "threads answering requests (waiting clients hold none)")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  c->add_option("--reload-ms", a->opt.reload_ms, "check model files for replacement this often (0 = never)")
      ->check(CLI::Range(0, 3600000))
      ->capture_default_str();
  c->add_option("--max-k", a->opt.max_k, "largest k a request may ask for")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str();
  c->add_option("--max-connections", a->opt.max_connections, "open connections allowed; past them a new one gets 503")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str();
  c->add_option("--request-timeout-ms", a->opt.request_timeout_ms,
                "a request's headers and body must arrive within this, else 408 and the connection closes")
      ->check(CLI::Range(100, 3600000))
      ->capture_default_str();
  c->add_option("--idle-timeout-ms", a->opt.idle_timeout_ms,
                "a kept-alive connection with no new request closes after this")
      ->check(CLI::Range(100, 3600000))
      ->capture_default_str();
  c->add_option("--max-body-bytes", a->opt.max_body_bytes, "larger request bodies (sized or chunked) get 413 unread")
      ->check(CLI::Range(0, 1 << 30))
      ->capture_default_str();
  c->add_flag("--quiet,-q", a->opt.quiet, "no log lines");
  c->add_flag(
      "--exact", a->opt.exact,
      "scan every item even when a model file has an approximate index (a request's exact=false/true overrides)");
  c->add_option("--api-key-file", a->opt.api_key_file,
                "file holding the API key that every request but /healthz must send as Authorization: Bearer <key>");
  c->add_flag("--insecure", a->opt.insecure,
              "listen off loopback without an API key (anyone reaching the port can read every answer)");
  c->add_option("--tls-cert", a->opt.tls_cert, "PEM certificate (chain): serve HTTPS (with --tls-key)");
  c->add_option("--tls-key", a->opt.tls_key, "PEM private key of --tls-cert");
  c->callback([a] {
    a->models.insert(a->models.end(), a->old_models.begin(), a->old_models.end());
    if (a->models.empty()) throw ParamError("serve: give a model file, -f/--model-file [NAME=]FILE (repeatable)");
    run_serve(*a);
  });
}

void add_ingest(CLI::App& app) {
  auto a = std::make_shared<IngestArgs>();
  auto* c = app.add_subcommand("ingest",
                               "add a day's Spotify chart files to a chart store (SQLite); each day is stored once");
  c->add_option("--store,-s", a->store, "the store file (created when absent)")->required();
  c->add_option("--date", a->date,
                "the charts' day, YYYY-MM-DD (default: from names like regional-co-daily-2021-04-24.csv)");
  c->add_flag("--replace", a->replace, "replace a stored day's region whose content differs (default: refuse)");
  c->add_flag("--list", a->list, "list the stored days and exit");
  c->add_flag("--json", a->json, "print JSON");
  c->add_option("files", a->files, "regional-<cc>-daily-*.csv files, their folder, or a charts_long.csv");
  c->callback([a] { run_ingest(*a); });
}

void add_refit(CLI::App& app) {
  auto a = std::make_shared<RefitArgs>();
  auto* c =
      app.add_subcommand("refit", "train a model on a chart store and write it atomically (served models reload it)");
  c->add_option("--store,-s", a->store, "the chart store written by mfkit ingest")->required();
  c->add_option("--out,-o", a->out, "model file to write")->required();
  add_model_type(c, a->opt.model)->capture_default_str();
  c->add_option("--preset", a->opt.preset, "preset of the model (\"\" = defaults)")->capture_default_str();
  c->add_option("--set", a->sets, "parameter override key=value (repeatable)")->take_all();
  c->add_option("--days", a->opt.last_days, "train on the last N stored days (0 = all)")
      ->check(CLI::Range(0, 100000))
      ->capture_default_str();
  add_common(c, a->common);
  c->callback([a] { run_refit(*a); });
}

}  // namespace mfkit::cli
