#!/usr/bin/env python3
"""The table of bench/netsim_bench.py: measured and modelled seconds per iteration between
simulated hosts, across link rates and delays (docs/distributed.md prints it).

    python3 bench/netsim_table.py bench/results/netsim.json
    python3 bench/netsim_table.py --compare bench/results/netsim_batched.json
"""
import json
import sys


def compare(path):
    """bench/netsim_bench.py --before: the time per iteration before and after a change."""
    d = json.load(open(path))
    print("| model | hosts | link | one-way delay | all-to-alls / iteration, before -> after | s / iteration before "
          "| after | after / before |")
    print("|---|---:|---|---:|---:|---:|---:|---:|")
    for r in d["rows"]:
        print(f"| {r['model']} | {r['hosts']} | {r['rate']} | {r['delay']} | {r['collectives_before']['alltoall']} -> "
              f"{r['collectives_after']['alltoall']} | {r['seconds_before']:.3f} | {r['seconds_after']:.3f} | "
              f"{r['after_over_before']:.2f} |")
    print()
    print(f"Medians of {d['repeats']} runs of each build, interleaved; {d['data']['lines']:,} ratings, f = {d['factors']}, "
          f"{d['machine']['model']}. `{d['command']}`.")


def fastest_runs(d):
    """The model against the fastest of each configuration's runs, with the fastest unshaped run as
    compute: what the machine gives when nothing else slows a run down. {hosts: [modelled / measured]}."""
    floors = {(r["model"], r["hosts"]): min(r["unshaped_runs"]) for r in d["rows"] if "unshaped_runs" in r}
    out = {}
    for r in d["rows"]:
        if r.get("loss") or "runs" not in r:
            continue
        modelled = floors[(r["model"], r["hosts"])] + r["network_seconds"] + r["latency_seconds"]
        out.setdefault(r["hosts"], []).append(modelled / min(r["runs"]))
    return out


def main():
    if sys.argv[1] == "--compare":
        return compare(sys.argv[2])
    d = json.load(open(sys.argv[1]))
    print("| model | hosts (cores each) | link | one-way delay | measured s / iteration | modelled s "
          "| modelled / measured | compute s | bytes / rate s | steps x delay s | MB sent / iteration |")
    print("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    ratios, spreads = {}, {}
    lossy = [r for r in d["rows"] if r.get("loss")]
    for r in d["rows"]:
        if r.get("loss"):
            continue
        ratio = r["modelled_over_measured"]
        if "unshaped_runs" in r:
            spreads[(r["model"], r["hosts"])] = max(r["unshaped_runs"]) / min(r["unshaped_runs"]) - 1
            continue
        ratios.setdefault(r["hosts"], []).append(ratio)
        print(f"| {r['model']} | {r['hosts']} ({r['cpus_per_host']:g}) | {r['rate']} | {r['delay']} | {r['seconds']:.3f} | "
              f"{r['modelled_seconds']:.3f} | {ratio:.2f} | {r['compute_seconds']:.3f} | {r['network_seconds']:.3f} | "
              f"{r['latency_seconds']:.3f} | {r['bytes_per_iteration'] / 1e6:.2f} |")
    if lossy:
        print()
        print("| model | hosts | link | packet loss | s / iteration | without loss | ratio |")
        print("|---|---:|---|---:|---:|---:|---:|")
        for r in lossy:
            clean = r["seconds_without_loss"]  # None when the grid had no 1 Gbit/s, 1 ms run
            print(f"| {r['model']} | {r['hosts']} | {r['rate']}, {r['delay']} | {r['loss']} | {r['seconds']:.3f} | "
                  + (f"{clean:.3f} | {r['seconds'] / clean:.2f} |" if clean else "- | - |"))
    m = d["machine"]
    steps = "; ".join(f"{h} hosts: " + ", ".join(f"{k} {v:.2f}" for k, v in s.items())
                      for h, s in d["steps_per_collective"].items())
    print()
    for hosts, rs in sorted(ratios.items()):
        within = sum(abs(x - 1) <= 0.25 for x in rs)
        worst = max(rs, key=lambda x: abs(x - 1))
        spread = max(v for (_, h), v in spreads.items() if h == hosts)
        print(f"{hosts} hosts: the model is within 25% of the measured time in {within} of {len(rs)} configurations "
              f"(worst {worst:.2f}x); identical unshaped runs differed by up to {100 * spread:.0f}%.")
    fastest = fastest_runs(d)
    if fastest:
        print()
        for hosts, rs in sorted(fastest.items()):
            within = sum(abs(x - 1) <= 0.25 for x in rs)
            worst = max(rs, key=lambda x: abs(x - 1))
            print(f"{hosts} hosts, the fastest of each configuration's runs (its compute also the fastest unshaped "
                  f"run): within 25% in {within} of {len(rs)} (worst {worst:.2f}x).")
    print()
    rounds = d.get("rounds")
    how = (f"Every time is the median of {rounds} rounds, each round running every configuration once after its compute "
           f"run (unshaped links)" if rounds else "Compute: the median of three runs on unshaped links (start, middle, "
           "end of each group)")
    print(f"{how}. One-way delays "
          f"per collective, measured alone: {steps}. {d['data']['lines']:,} ratings, f = {d['factors']}, one thread "
          f"per rank, MTU {d['mtu']}; each simulated host gets an even share of {m['model']}'s {m['cores']} cores "
          f"(`--cpus`){' and one core of them (`--pin`)' if rounds else ''}. `{d['command']}`.")

if __name__ == "__main__":
    main()
