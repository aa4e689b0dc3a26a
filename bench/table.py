#!/usr/bin/env python3
"""Prints the README's markdown results tables from the benchmark JSON files.

    python3 bench/table.py bench/results/rmse.json bench/results/kernels_avx512.json
    python3 bench/table.py --combine bench/results/rmse.json bench/results/nnmf_*.json   # one table
    python3 bench/table.py --ablation | --tuning                                          # NNMF options
    python3 bench/table.py --speed                                  # the kernels, per kernel path
    python3 bench/table.py --same-run                               # against the peers, same run
    python3 bench/table.py --python                                 # the Python module against C++
"""
import json
import sys


METRICS = {"rmse": "test RMSE", "mae": "MAE", "mean_user_percentile_rank": "expected percentile rank (mean over users)",
           "hit_rate": "HR@k", "ndcg": "NDCG@k", "auc": "AUC"}


def merge_runs(results):
    """Rows of the same dataset, model, preset and parameters (one table split over processes by
    --first-seed) become one row, with mean and sd over all their runs."""
    import statistics
    merged = {}
    for x in results:
        key = (x["dataset"], x["model"], x["preset"], json.dumps(x.get("params", {}), sort_keys=True))
        if key not in merged:
            merged[key] = dict(x, runs=list(x["runs"]))
            continue
        m = merged[key]
        m["runs"] += x["runs"]
        for metric in METRICS:
            vals = [r["test"][metric] for r in m["runs"] if metric in r["test"]]
            if len(vals) == len(m["runs"]) and vals:
                m[metric + "_mean"] = statistics.mean(vals)
                m[metric + "_sd"] = statistics.stdev(vals) if len(vals) > 1 else 0.0
        m["train_seconds_mean"] = statistics.mean(r["train_seconds"] for r in m["runs"])
    return list(merged.values())


def accuracy_table(*paths):
    runs = [json.load(open(p)) for p in paths]
    runs = [r for r in runs if "results" in r]  # a glob may also match other benchmarks' files
    for r in runs:
        print(f"Command: `{r['command']}` ({r['machine']['cpu']}, {r['machine']['cores']} cores)\n")
    results = sorted(merge_runs(x for r in runs for x in r["results"]), key=lambda x: x["dataset"])
    present = [m for m in METRICS if any(m + "_mean" in x for x in results)]
    print("| dataset | model | " + " | ".join(METRICS[m] + " (mean ± sd)" for m in present) + " | seeds | train s |")
    print("|---|---|" + "---|" * len(present) + "---|---|")
    for x in results:
        name = x["model"] + (f" --preset {x['preset']}" if x["preset"] else "")
        p = x.get("params", {})
        if "architecture" in p:  # shallow-net: which network, and its loss and size when they rank
            name += f" (architecture {p['architecture']}" + (
                f", {p['loss']}, {p['factors']} factors)" if p.get("loss", "pointwise") != "pointwise" else ")")
        cells = [f"{x[m + '_mean']:.4f} ± {x[m + '_sd']:.4f}" if m + "_mean" in x else "" for m in present]
        seeds = ",".join(str(r["seed"]) for r in x["runs"])
        print(f"| {x['dataset']} | {name} | " + " | ".join(cells) + f" | {seeds} | {x['train_seconds_mean']:.2f} |")


def kernel_table(path):
    r = json.load(open(path))
    print("| benchmark | args | time | rate |")
    print("|---|---|---|---|")
    for b in r["benchmarks"]:
        parts = b["name"].split("/")
        args = "/".join(a for a in parts[1:] if not a.startswith(("real_time", "iterations")))
        if "items_per_second" in b:
            rate = f"{b['items_per_second'] / 1e6:.1f} M entries/s"
        elif "GFLOP/s" in b:
            rate = f"{b['GFLOP/s']:.1f} GFLOP/s"
        else:
            rate = f"{b['users/s'] / 1e3:.1f} k users/s"
        print(f"| {parts[0]} | {args} | {b['real_time']:.1f} {b['time_unit']} | {rate} |")


# The kernels' microbenchmarks (bench/kernels_bench.cpp), one run per kernel path: benchmark
# name prefix -> work. Peers are not here: a peer's figure only ever comes from a run in which
# both sides ran interleaved (same_run_table).
KERNEL_ROWS = [
    ("BM_ImplicitCg_Synthetic10M/64/2", "CG ALS iteration (3 steps), synthetic 10M, f=64"),
    ("BM_ImplicitCg_Synthetic10M/128/2", "CG ALS iteration (3 steps), synthetic 10M, f=128"),
    ("BM_ImplicitCholesky_Synthetic10M/64/2", "Cholesky ALS iteration, synthetic 10M, f=64"),
    ("BM_ImplicitCg_Ml1m/64/2", "CG ALS iteration, ML-1M as implicit, f=64"),
    ("BM_SgdEpoch/64/2", "SGD epoch (kernel only), ML-1M's 90%, k=64"),
    ("BM_RecommendAllUsers/1/2", "top-10 for all ML-1M users, seen items filtered"),
    ("BM_RecommendAllUsers/0/2", "top-10 for all ML-1M users, no filtering"),
    ("BM_Triad/2", "memory bandwidth (STREAM triad, 768 MiB)"),
    ("BM_GatherRows/64/2", "random 256-byte rows from a 384 MiB matrix"),
]


def kernel_path(run):
    """The kernel path a kernels JSON ran on (its --benchmark_context=isa=...)."""
    return run["context"].get("isa", "native build")


def fmt_time(t):
    return f"{t / 1000:.2f} s" if t >= 100 else f"{t:.1f} ms"


def speed_table(*kernels, nnmf="bench/results/nnmf_speed.json"):
    """mfkit's kernels on 2 threads, one column per kernel path (bench/results/kernels_<isa>.json)."""
    kernels = kernels or ("bench/results/kernels_avx2.json", "bench/results/kernels_avx512.json")
    runs = [json.load(open(k)) for k in kernels]
    print("| work (2 threads) | " + " | ".join(f"{kernel_path(r)} path" for r in runs) + " |")
    print("|---|" + "---|" * len(runs))
    for prefix, work in KERNEL_ROWS:
        cells = []
        for r in runs:
            b = next((b for b in r["benchmarks"] if b["name"].startswith(prefix)), None)
            if b is None:
                cells.append("")
            elif "users/s" in b:
                cells.append(f"{b['users/s']:,.0f} users/s")
            elif "GFLOP/s" in b:
                cells.append(f"{fmt_time(b['real_time'])} ({b['GFLOP/s']:.0f} GFLOP/s)")
            elif prefix.startswith(("BM_Triad", "BM_GatherRows")):
                cells.append(f"{b['bytes_per_second'] / 1e9:.1f} GB/s")
            else:
                cells.append(f"{fmt_time(b['real_time'])} ({b['items_per_second'] / 1e6:.0f} M ratings/s)")
        print(f"| {work} | " + " | ".join(cells) + " |")
    n = json.load(open(nnmf))
    print(f"| NNMF epoch, ML-1M, paper sizes, batch {n['batch']} (libtorch; no kernel path) | "
          f"{n['epoch_seconds']:.2f} s ({n['achieved_gflops']:.0f} GFLOP/s) |" + " |" * (len(runs) - 1))
    m = runs[0]["context"]
    print(f"\nGoogle Benchmark, real time, {m.get('num_cpus')} CPUs at {m.get('mhz_per_cpu')} MHz; "
          f"`MFKIT_ISA=<path> OPENBLAS_CORETYPE=<same> build/bench/mfkit_bench_kernels "
          f"--benchmark_context=isa=<path> --benchmark_out=bench/results/kernels_<path>.json` (bench/run_all.sh).")


def same_run_table(sgd="bench/results/sgd_libmf.json", implicit="bench/results/implicit_als_same_file.json",
                   topn="bench/results/topn_implicit.json"):
    """Every comparison with a peer: both sides in one run, interleaved, per kernel path."""
    rows = []
    s = json.load(open(sgd))
    for r in s["rows"]:
        rows.append((r["isa"], f"SGD epoch, ML-1M's 90%, k={r['k']} (whole processes)",
                     f"LIBMF ({s['libmf'][r['isa']]['build']}): {r['libmf_epoch_s'] * 1000:.1f} ms",
                     f"{r['mfkit_epoch_s'] * 1000:.1f} ms", r["ratio"], "time"))
    m = json.load(open(implicit))
    for r in m["results"]:
        name = {"cg": "CG iteration (3 steps)", "cholesky": "Cholesky iteration"}[r["solver"]]
        rows.append((r.get("isa", "native build"), f"implicit ALS {name}, the same {m['nnz'] / 1e6:.1f}M-interaction "
                     f"file, f={m['factors']}", f"implicit 0.7.3: {r['implicit']:.2f} s", f"{r['mfkit']:.2f} s",
                     r["ratio"], "time"))
    t = json.load(open(topn))
    for r in t["rows"]:
        for kind in ("filtered", "unfiltered"):
            x = r[kind]
            rows.append((r["isa"], f"top-10 for every ML-1M user from Python, {'seen items filtered' if kind == 'filtered' else 'no filter'}",
                         f"implicit 0.7.3: {x['users_per_second']['implicit']:,.0f} users/s",
                         f"{x['users_per_second']['mfkit']:,.0f} users/s", x["ratio"], "rate"))
    print("| path | work (2 threads) | peer, same run | mfkit | mfkit / peer |")
    print("|---|---|---|---|---|")
    for isa, work, peer, ours, ratio, kind in sorted(rows, key=lambda r: (r[1].split(",")[0], r[0])):
        print(f"| {isa} | {work} | {peer} | {ours} | {ratio:.2f}x {kind} |")
    cpus = {json.dumps({k: v for k, v in x["machine"].items() if k != "kernels"}, sort_keys=True): x["machine"]
            for x in (s, m, t) if isinstance(x.get("machine"), dict)}
    for c in cpus.values():
        print(f"\nCPU: {c['model']} (family {c['family']} model {c['model_number']}), {c['cores']} cores, "
              f"{' '.join(c['vector_flags'])}. The avx2 rows run mfkit's AVX2 kernels (MFKIT_ISA=avx2) and OpenBLAS's "
              "Haswell kernels (OPENBLAS_CORETYPE) on this AVX-512 CPU, beside peers built for AVX2: what an "
              "AVX2-only machine of this kind runs, at this machine's clock and memory.")
    print(f"\nCommands: `{s['command']}`; `{m['command']}`; `{t['command']}`.")


def python_table(path="bench/results/python.json"):
    """The Python module against the C++ library on the same work, interleaved in one run."""
    r = json.load(open(path))
    print(f"Command: `{r['command']}` ({r['machine']}, {r['threads']} threads, medians of interleaved runs)\n")
    print("| work | Python / C++ time |")
    print("|---|---|")
    print(f"| `implicit-als` fit on {r['dataset']} from a scipy matrix | {r['fit']['python_over_cpp']:.3f}x |")
    s = r["fit_synthetic_10m"]
    print(f"| the same on a synthetic {s['nnz']:,}-cell matrix (building the two CSR layouts from scipy's: "
          f"{min(s['build_from_scipy_seconds']):.2f}-{max(s['build_from_scipy_seconds']):.2f} s of it) "
          f"| {s['python_over_library']:.3f}x |")
    x = r["recommend_all_users"]
    print(f"| `recommend` top-{x['N']} for all {r['n_users']:,} users in one call, seen items filtered "
          f"({x['python_users_per_second']:,.0f} against {x['cpp_users_per_second']:,.0f} users/s) "
          f"| {x['python_over_cpp']:.3f}x |")


def meta_table(path):
    r = json.load(open(path))
    print(f"Command: `{r['command']}`\n")
    for dataset, by_ratio in r["results"].items():
        ratios = sorted(by_ratio)
        methods = sorted({m for x in by_ratio.values() for m in x},
                         key=lambda m: min(by_ratio[q][m]["rmse"] for q in ratios if m in by_ratio[q]))
        print(f"Meta-test matrices of **{dataset}**: RMSE, mean ± sd over matrices and seeds; n matrices; paired "
              "with per-matrix MF on the same matrices: mean difference ± standard error, share of matrices "
              "where the method is better.\n")
        print("| method | " + " | ".join(f"{float(q) * 100:.0f}% observed" for q in ratios) + " |")
        print("|---|" + "---|" * len(ratios))
        for m in methods:
            cells = []
            for q in ratios:
                x = by_ratio[q].get(m)
                if not x:
                    cells.append("")
                    continue
                paired = ""
                if "vs_mf" in x:
                    v = x["vs_mf"]
                    paired = f"; {v['mean_diff']:+.4f} ± {v['se']:.4f} vs MF, better on {v['better_share'] * 100:.0f}%"
                cells.append(f"{x['rmse']:.4f} ± {x['sd_over_matrices']:.3f} (n {x['n']}{paired})")
            print(f"| {m} | " + " | ".join(cells) + " |")
        print()


def serve_table(path):
    r = json.load(open(path))
    s = r["setup"]
    print(f"Command: `{r['command']}` ({s['cores']} cores; {s['items']} items, k={s['k']}, "
          f"{s['connections']} connections, {s['server_threads']} server threads; {s['client']})\n")
    print("| phase | requests/s | p50 ms | p90 ms | p99 ms | failed |")
    print("|---|---|---|---|---|---|")
    for name, key in (("steady", "steady"), (f"model replaced {r['model_swaps']} times", "during_reloads")):
        x = r[key]
        print(f"| {name} | {x['requests_per_s']:,.0f} | {x['p50_ms']:.2f} | {x['p90_ms']:.2f} | {x['p99_ms']:.2f} "
              f"| {x['failed']} of {x['requests']:,} |")


def ablation_table(folder="bench/results/nnmf_ablation"):
    import glob
    import os
    import re
    rows = []
    for p in sorted(glob.glob(os.path.join(folder, "*.json"))):
        r = json.load(open(p))
        x = r["results"][0]
        sets = [s.split(":", 2)[-1] for s in re.findall(r"--set (\S+)", r["command"])]
        change = ", ".join(s for s in sets if s not in ("ensemble=1", "lr_decay=1")) or "none (lambda 150, biases, clip; one member)"
        rows.append((os.path.basename(p)[:-5], change, x["rmse_mean"], x["train_seconds_mean"], r["command"]))
    base = next((r[2] for r in rows if r[0] == "base"), None)
    print("| variant | change from base | test RMSE | vs base | train s |")
    print("|---|---|---|---|---|")
    for name, change, rmse, secs, _ in sorted(rows, key=lambda r: r[2]):
        delta = f"{rmse - base:+.4f}" if base is not None else ""
        print(f"| {name} | {change} | {rmse:.4f} | {delta} | {secs:.0f} |")


def tuning_table(folder="bench/results/nnmf_tuning"):
    """Runs with --valid: the validation RMSE chose, the test RMSE is shown beside it."""
    import glob
    import os
    import re
    print("| run | preset | change | valid RMSE | test RMSE | epochs | train s |")
    print("|---|---|---|---|---|---|---|")
    rows = []
    for p in glob.glob(os.path.join(folder, "*.json")):
        r = json.load(open(p))
        x = r["results"][0]
        run = x["runs"][0]
        sets = [s.split(":", 2)[-1] for s in re.findall(r"--set (\S+)", r["command"])]
        rows.append((x["preset"], run["valid"]["rmse"], os.path.basename(p)[:-5], ", ".join(sets) or "none",
                     run["test"]["rmse"], run["epochs"], run["train_seconds"]))
    for preset, valid, name, change, test, epochs, secs in sorted(rows):
        print(f"| {name} | {preset} | {change} | {valid:.4f} | {test:.4f} | {epochs} | {secs:.0f} |")


if __name__ == "__main__":
    args = sys.argv[1:]
    if args and args[0] == "--tuning":
        tuning_table(*args[1:])
        sys.exit(0)
    if args and args[0] == "--ablation":
        ablation_table(*args[1:])
        sys.exit(0)
    if args and args[0] == "--python":
        python_table(*args[1:])
        sys.exit(0)
    if args and args[0] == "--speed":
        speed_table(*args[1:])
        sys.exit(0)
    if args and args[0] == "--same-run":
        same_run_table(*args[1:])
        sys.exit(0)
    if args and args[0] == "--combine":
        accuracy_table(*args[1:])
        sys.exit(0)
    for p in args:
        j = json.load(open(p))
        if "benchmarks" in j:
            kernel_table(p)
        elif "episodes" in j:
            meta_table(p)
        elif "steady" in j:
            serve_table(p)
        else:
            accuracy_table(p)
        print()
