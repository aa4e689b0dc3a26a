#!/usr/bin/env python3
"""The README's headline table: mfkit's figures from bench/results/, each row linking to its
details. A speed row's peer figure comes from the same run (both sides interleaved), for each of
mfkit's kernel paths (avx512 / avx2); the accuracy rows quote the peers' published figures.

    python3 bench/headline.py
"""
import json
import pathlib

from table import merge_runs

RESULTS = pathlib.Path(__file__).resolve().parent / "results"


def load(name):
    return json.loads((RESULTS / name).read_text())


def accuracy(name, dataset, model, preset="", metric="rmse"):
    for x in merge_runs(load(name)["results"]):
        if x["dataset"] == dataset and x["model"] == model and x["preset"] == preset:
            return x[metric + "_mean"], x["train_seconds_mean"], len(x["runs"])
    raise SystemExit(f"headline: no {model} {preset} on {dataset} in {name}")


def by_path(rows, key=lambda r: r["isa"]):
    """Rows of a per-path bench, widest path first."""
    order = {"avx512": 0, "avx2": 1, "baseline": 2}
    return sorted(rows, key=lambda r: order.get(key(r), 3))


def paths(cells):
    """ "**a** (avx512) / b (avx2)": the first (widest) path in bold."""
    return " / ".join((f"**{v}**" if n == 0 else v) + f" ({isa})" for n, (isa, v) in enumerate(cells))


def main():
    rows = []
    rmse, secs, seeds = accuracy("rmse.json", "ml-1m", "biased-mf")
    rows.append(("ML-1M test RMSE, random 90/10", f"**{rmse:.4f}** (biased-mf, {secs:.1f} s, {seeds} seeds)",
                 "LIBMF 0.837 (k=128, 100 iterations)", "docs/results.md#rating-prediction"))
    rmse, secs, seeds = accuracy("rmse.json", "ml-100k", "biased-mf", "ml-100k")
    rows.append(("ML-100K test RMSE, random 90/10", f"**{rmse:.4f}** (biased-mf --preset ml-100k)",
                 "LIBMF 0.894 (k=128, 40 iterations)", "docs/results.md#rating-prediction"))
    nn, secs, seeds = accuracy("nnmf_defaults_ml-1m.json", "ml-1m", "nnmf")
    rows.append(("NNMF's default on ML-1M (blended with biased MF and I-AutoRec)", f"**{nn:.4f}** ({secs:.0f} s, {seeds} seeds)",
                 "paper's NNMF 0.843, I-AutoRec 0.831 (published)", "docs/nnmf.md"))
    same = load("implicit_als_same_file.json")
    for solver in ("cg", "cholesky"):
        rs = by_path([r for r in same["results"] if r["solver"] == solver and "isa" in r])
        name = {"cg": "one CG iteration (3 steps)", "cholesky": "one Cholesky iteration"}[solver]
        rows.append((f"implicit ALS, {name}, the same {same['nnz'] / 1e6:.1f}M-interaction file, f={same['factors']}",
                     paths([(r["isa"], f"{r['mfkit']:.2f} s") for r in rs]),
                     "implicit 0.7.3, same run: " + " / ".join(f"{r['implicit']:.2f} s" for r in rs),
                     "docs/results.md#speed"))
    sgd = by_path([r for r in load("sgd_libmf.json")["rows"] if r["k"] == 64 and r["isa"] != "baseline"])
    rows.append(("SGD epoch over ML-1M, k=64", paths([(r["isa"], f"{r['mfkit_epoch_s'] * 1000:.1f} ms") for r in sgd]),
                 "LIBMF built for the same path, same run: " + " / ".join(f"{r['libmf_epoch_s'] * 1000:.1f} ms" for r in sgd),
                 "docs/results.md#speed"))
    topn = by_path(load("topn_implicit.json")["rows"])
    rows.append(("top-10 for every ML-1M user from Python, seen items filtered",
                 paths([(r["isa"], f"{r['filtered']['users_per_second']['mfkit']:,.0f} users/s") for r in topn]),
                 "implicit 0.7.3, same run: " + " / ".join(f"{r['filtered']['users_per_second']['implicit']:,.0f}"
                                                          for r in topn) + " users/s", "docs/results.md#speed"))
    epr_bpr, _, _ = accuracy("ranking_lastfm.json", "lastfm-2k", "bpr", metric="mean_user_percentile_rank")
    epr_imf, _, _ = accuracy("implicit_lastfm.json", "lastfm-2k", "implicit-als", "dotify", metric="mean_user_percentile_rank")
    epr_net, _, _ = accuracy("ranking_nets_searched_lastfm.json", "lastfm-2k", "shallow-net", "arch1",
                             metric="mean_user_percentile_rank")
    rows.append(("last.fm-2k expected percentile rank (lower is better)",
                 f"**{epr_net:.3f}** (dotify's network 1, WARP), {epr_bpr:.3f} (bpr), {epr_imf:.3f} (implicit-als)",
                 "", "docs/ranking.md"))
    dist = load("distributed_100m.json")
    four = next(r for r in dist["runs"] if r["ranks"] == 4)
    rows.append((f"distributed implicit-als, {four['nnz'] / 1e6:.0f}M interactions, 4 ranks",
                 f"**{four['bytes_mean_per_rank'] / 1e6:.0f} MB** sent per rank per iteration, "
                 f"{four['measured_over_predicted']:.3f}x the volume formula", "", "docs/distributed.md"))
    dsgd = next(x for x in load("dsgd_ml1m.json")["summary"] if x["ranks"] == 4)
    rows.append(("biased-mf by DSGD on 4 ranks, ML-1M held-out RMSE", f"**{dsgd['test_rmse_mean']:.4f}**, "
                 f"within {dsgd['minus_one_process_max_abs']:.4f} of one process on every seed", "", "docs/distributed.md"))
    net = [r for r in load("netsim.json")["rows"] if "steps" in r and "unshaped_runs" not in r]
    within = sum(abs(r["modelled_over_measured"] - 1) <= 0.25 for r in net)
    rows.append(("distributed training between simulated hosts (2 and 4; 100 Mb/s to unshaped, 0 to 5 ms)",
                 f"cost model within 25% of the measured iteration in **{within} of {len(net)}** runs; a killed "
                 "rank restarts by itself and resumes bit-equal", "",
                 "docs/distributed.md#between-hosts-addresses-links-and-faults"))
    big = load("scale.json")["rows"][-1]
    peak = max(big[k]["peak_rss"] for k in ("load", "implicit-als", "biased-mf"))
    rows.append((f"{big['lines'] / 1e6:.0f}M-line file (integer ids): load, implicit-als iteration, biased-mf epoch",
                 f"**{big['load']['seconds']:.1f} s**, {big['implicit-als']['seconds_per_iteration']:.1f} s, "
                 f"{big['biased-mf']['seconds_per_iteration']:.1f} s; peak {peak / 2**30:.1f} GB", "", "docs/scale.md"))
    ann = load("ann_1m.json")
    run = max((r for r in ann["runs"] if r["recall_at_10"] >= 0.95), key=lambda r: r["speedup"])
    rows.append((f"top-10 over {ann['items']:,} items with the HNSW index",
                 f"**{run['speedup']:.0f}x** the exact scan at recall@10 {run['recall_at_10']:.3f}", "", "docs/ann.md"))
    s = load("serve.json")["steady"]
    rows.append(("`mfkit serve`, loopback, 8 connections", f"**{s['requests_per_s']:,.0f} requests/s**, p99 {s['p99_ms']:.2f} ms",
                 "", "docs/dotify.md"))
    st = {r["command"]: r for r in load("startup.json")["rows"]}
    rows.append(("start-up of `mfkit --help` / `predict` on a biased-mf file",
                 f"**{st['mfkit --help']['median_ms']:.0f} ms** / **{st['mfkit predict (biased-mf file)']['median_ms']:.0f} ms**",
                 "", "docs/results.md#start-up"))
    print("| | mfkit | peer | more |")
    print("|---|---|---|---|")
    for what, ours, peer, link in rows:
        print(f"| {what} | {ours} | {peer} | [{link.split('/')[-1].split('#')[0]}]({link}) |")
    c = load("sgd_libmf.json")["machine"]
    print(f"\nSpeed rows: one build, its AVX-512 and AVX2 kernel paths (`MFKIT_ISA`), on a {c['cores']}-core "
          f"{c['model']} (family {c['family']} model {c['model_number']}) with AVX-512; the AVX2 rows are what an "
          "AVX2-only machine of this kind runs. Accuracy rows quote the peers' published figures.")


if __name__ == "__main__":
    main()
