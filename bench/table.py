#!/usr/bin/env python3
"""Prints the README's markdown results tables from the benchmark JSON files.

    python3 bench/table.py bench/results/rmse.json bench/results/kernels.json
    python3 bench/table.py --combine bench/results/rmse.json bench/results/nnmf_*.json   # one table
    python3 bench/table.py --ablation | --tuning                                          # NNMF options
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
        if "architecture" in p:
            name += f" (architecture {p['architecture']})"
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
