#!/usr/bin/env python3
"""Distributed training between simulated hosts (scripts/netsim.py) with links of a given rate and
delay: the measured time per iteration beside a cost model,

    time = compute + bytes / rate + steps x delay

Every configuration runs --rounds times (3), one round after another, each round starting with the
configuration's compute: the same training on unshaped links without delay; a time is the median
over the rounds (each run's own is the median of its iterations after the first). bytes: what the busiest
rank handed Gloo in an iteration (from the run's report), plus TCP/IP headers (52 bytes per
MTU-sized packet); delay: the links' one-way delay; steps: the collectives the run reports for an
iteration, each weighted by the one-way delays it takes on its own. Those weights are measured
first, apart from training: each collective alone, between the same simulated hosts, with and
without a 20 ms delay (tests/dist/comm_worker.cpp's latency mode). Gloo sends a buffer once the
receiver has said it is ready, but the receiver says so as soon as it posts, so a step costs about
one one-way delay, not a round trip: allreduce of a Gram matrix 2(P-1) steps (a ring), a small one
fewer, allgather P-1, all-to-all 1 (every pair at once), barrier log2 P.

One rank per host, one thread per rank, started by hand (RANK, WORLD_SIZE, MASTER_ADDR=host1);
each host gets an even share of this machine's cores (scripts/netsim.py --cpus) and stays on one
core (--pin).

    python3 bench/synthetic_csv.py --lines 2000000 --users 60000 --items 12000 --out /tmp/s2m.csv
    python3 bench/netsim_bench.py --data /tmp/s2m.csv --out bench/results/netsim.json
"""
import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

from machine import describe, save

ROOT = pathlib.Path(__file__).resolve().parents[1]
NETSIM = ROOT / "scripts" / "netsim.py"
RATES = {"unshaped": None, "10gbit": 10e9, "1gbit": 1e9, "100mbit": 100e6}


# One rank per simulated host, started by hand (scripts/netsim.py fills in {rank} and {hosts}).
RANKS = ["env", "OMP_NUM_THREADS=1", "RANK={rank}", "WORLD_SIZE={hosts}", "MASTER_ADDR=host1", "MASTER_PORT=29500"]


def netsim(hosts, net, cmd, what):
    """Rank 0's standard output of `cmd` run on `hosts` simulated hosts with links `net`."""
    with tempfile.TemporaryDirectory() as out:
        r = subprocess.run([sys.executable, str(NETSIM), "--hosts", str(hosts), "--out", out, "--deadline", "900",
                            "--cpus", f"{cpus(hosts):g}", "--pin", *net, "--", *RANKS, *cmd], capture_output=True, text=True)
        if r.returncode != 0:
            errs = "".join(pathlib.Path(out, f"host{h}.err").read_text()[-800:] for h in range(1, hosts + 1))
            sys.exit(f"failed: {what}, {hosts} hosts\n{r.stderr}\n{errs}")
        return pathlib.Path(out, "host1.out").read_text()


def steps_per_collective(args, hosts, delay=0.020):
    """One-way delays each collective takes between `hosts` simulated hosts, measured alone."""
    times = {}
    for d in (0.0, delay):
        net = ["--delay", f"{d * 1000:g}ms"] if d else []
        times[d] = json.loads(netsim(hosts, net, [args.worker, "latency", "60000"], "latency run"))
    return {k: max(0.0, (times[delay][k] - times[0.0][k]) / delay) for k in times[0.0] if k != "ranks"}


def steps(calls, per_collective):
    """One-way delays of an iteration's collectives."""
    return sum(n * per_collective[kind] for kind, n in calls.items())


def seconds(text):
    """'5ms' / '100us' / '0' as seconds."""
    if text in ("0", "none"):
        return 0.0
    if text.endswith("ms"):
        return float(text[:-2]) / 1e3
    if text.endswith("us"):
        return float(text[:-2]) / 1e6
    return float(text)


def cpus(hosts):
    """Each simulated host's share of this machine: its cores split evenly (at most one each)."""
    return min(1.0, (os.cpu_count() or 1) / hosts)


def run(args, model, hosts, rate, delay, mfkit=None, loss=None):
    """Rank 0's report of one run (`mfkit`: another build, its libraries in lib/ beside it)."""
    length = "epochs" if model == "biased-mf" else "iterations"
    libs = [f"LD_LIBRARY_PATH={pathlib.Path(mfkit).parent / 'lib'}"] if mfkit else []
    cmd = [*libs, str(mfkit or args.mfkit), "train", "-m", model, "--data", args.data, "--format", args.format,
           "--split", "none", "--threads", "1", "--set", f"factors={args.factors}", "--set",
           f"{length}={args.iterations}", "--timeout", "120", "--json", "-q"]
    net = [] if rate == "unshaped" else ["--rate", rate]
    net += [] if seconds(delay) == 0 else ["--delay", delay]
    net += ["--loss", loss] if loss else []
    return json.loads(netsim(hosts, net, cmd, f"{model}, {rate}, {delay}, {loss or 'no'} loss"))


def summarise(report):
    """Median seconds, busiest rank's bytes and the collectives of the iterations after the first."""
    its = report["iterations"][1:] or report["iterations"]
    return {"seconds": statistics.median(i["seconds"] for i in its),
            "cpu": statistics.median(i.get("cpu_seconds", float("nan")) for i in its),  # older builds lack it
            "bytes": statistics.median(max(i["bytes_sent_per_rank"]) for i in its),
            "collectives": its[-1]["collectives"]}


def compare(args):
    """Each configuration with the build --before and this one, interleaved (before, after, before,
    after): the time per iteration of each and their ratio."""
    rows = []
    for model in args.models:
        for hosts in args.hosts:
            for rate in args.rates:
                for delay in args.delays:
                    runs = {"before": [], "after": []}
                    for _ in range(args.repeats):
                        runs["before"].append(summarise(run(args, model, hosts, rate, delay, mfkit=args.before)))
                        runs["after"].append(summarise(run(args, model, hosts, rate, delay)))
                    t = {k: statistics.median(r["seconds"] for r in v) for k, v in runs.items()}
                    rows.append({"model": model, "hosts": hosts, "rate": rate, "delay": delay,
                                 "seconds_before": t["before"], "seconds_after": t["after"],
                                 "after_over_before": t["after"] / t["before"],
                                 "collectives_before": runs["before"][0]["collectives"],
                                 "collectives_after": runs["after"][0]["collectives"]})
                    print(f"{model:13s} {hosts} hosts {rate:9s} delay {delay:6s}: {t['before']:.3f} s before, "
                          f"{t['after']:.3f} s after ({t['after'] / t['before']:.2f}x)", flush=True)
    save(args.out, {"command": "python3 " + " ".join(sys.argv), "machine": describe(pathlib.Path(args.mfkit)),
                    "data": {"path": args.data, "lines": sum(1 for _ in open(args.data))}, "factors": args.factors,
                    "iterations": args.iterations, "repeats": args.repeats, "rows": rows})


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", required=True)
    p.add_argument("--format", default="user,item,rating")
    p.add_argument("--models", nargs="+", default=["implicit-als", "als", "biased-mf"])
    p.add_argument("--hosts", nargs="+", type=int, default=[2, 4])
    p.add_argument("--rates", nargs="+", default=["unshaped", "1gbit", "100mbit"])
    p.add_argument("--delays", nargs="+", default=["0", "0.1ms", "1ms", "5ms"])
    p.add_argument("--losses", nargs="*", default=["1%", "5%"], help="packet loss on 1 Gbit/s, 1 ms links")
    p.add_argument("--factors", type=int, default=64)
    p.add_argument("--iterations", type=int, default=6)
    p.add_argument("--mtu", type=int, default=1500)
    p.add_argument("--mfkit", default=str(ROOT / "build" / "mfkit"))
    p.add_argument("--worker", default=str(ROOT / "build" / "tests" / "mfkit_dist_worker"))
    p.add_argument("--rounds", type=int, default=3, help="runs of every configuration (the median is reported)")
    p.add_argument("--before", help="another build's mfkit (its lib/ beside it): time both, interleaved")
    p.add_argument("--repeats", type=int, default=2, help="with --before: runs of each build per configuration")
    p.add_argument("--out", required=True)
    args = p.parse_args()
    if args.before:
        return compare(args)
    overhead = args.mtu / (args.mtu - 52)
    rows = []
    per_collective = {}
    for hosts in args.hosts:
        per_collective[hosts] = steps_per_collective(args, hosts)
        print(f"{hosts} hosts, one-way delays per collective: " +
              ", ".join(f"{k} {v:.2f}" for k, v in per_collective[hosts].items()), flush=True)
    for model in args.models:
        for hosts in args.hosts:
            configs = [(rate, delay) for rate in args.rates for delay in args.delays
                       if (rate, seconds(delay)) != ("unshaped", 0)]
            floors, runs = [], {c: [] for c in configs}
            for r in range(args.rounds):  # every configuration once per round: slow spells hit them all alike
                floors.append(summarise(run(args, model, hosts, "unshaped", "0"))["seconds"])
                for rate, delay in configs:
                    t0 = time.time()
                    runs[rate, delay].append(summarise(run(args, model, hosts, rate, delay)))
                    s = runs[rate, delay][-1]
                    print(f"{model:13s} {hosts} hosts {rate:9s} delay {delay:6s} round {r + 1}: {s['seconds']:.3f} s, "
                          f"{s['bytes'] / 1e6:.2f} MB ({time.time() - t0:.0f} s)", flush=True)
            floor = statistics.median(floors)
            rows.append({"model": model, "hosts": hosts, "cpus_per_host": cpus(hosts), "rate": "unshaped",
                         "delay": "0", "seconds": floor, "unshaped_runs": floors, "compute_seconds": floor,
                         "network_seconds": 0.0, "latency_seconds": 0.0, "steps": 0, "bytes_per_iteration": 0,
                         "modelled_seconds": floor, "modelled_over_measured": 1.0})
            group = []
            for (rate, delay), rs in runs.items():
                s = {"seconds": statistics.median(x["seconds"] for x in rs), "cpu": statistics.median(x["cpu"] for x in rs),
                     "bytes": statistics.median(x["bytes"] for x in rs), "collectives": rs[-1]["collectives"]}
                n_steps = steps(s["collectives"], per_collective[hosts])
                network = 0.0 if RATES[rate] is None else s["bytes"] * overhead * 8 / RATES[rate]
                r = {"model": model, "hosts": hosts, "cpus_per_host": cpus(hosts), "rate": rate, "delay": delay,
                     "seconds": s["seconds"], "runs": [x["seconds"] for x in rs], "cpu_seconds": s["cpu"],
                     "bytes_per_iteration": s["bytes"], "collectives": s["collectives"], "steps": n_steps,
                     "network_seconds": network, "latency_seconds": n_steps * seconds(delay), "compute_seconds": floor}
                r["modelled_seconds"] = floor + r["network_seconds"] + r["latency_seconds"]
                r["modelled_over_measured"] = r["modelled_seconds"] / r["seconds"]
                print(f"  {r['rate']:9s} {r['delay']:6s}: {r['seconds']:.3f} s measured, {r['modelled_seconds']:.3f} s "
                      f"modelled ({r['modelled_over_measured']:.2f}x)", flush=True)
                group.append(r)
            rows.extend(group)
            # Lossy links (1 Gbit/s, 1 ms): measured only; the model has no term for retransmissions.
            clean = next((r["seconds"] for r in group if (r["rate"], r["delay"]) == ("1gbit", "1ms")), None)
            for loss in args.losses:
                s = summarise(run(args, model, hosts, "1gbit", "1ms", loss=loss))
                rows.append({"model": model, "hosts": hosts, "cpus_per_host": cpus(hosts), "rate": "1gbit",
                             "delay": "1ms", "loss": loss, "seconds": s["seconds"], "seconds_without_loss": clean,
                             "bytes_per_iteration": s["bytes"]})
                print(f"{model:13s} {hosts} hosts 1gbit 1ms, {loss} loss: {s['seconds']:.3f} s", flush=True)
    lines = sum(1 for _ in open(args.data))
    save(args.out, {"command": "python3 " + " ".join(sys.argv), "machine": describe(pathlib.Path(args.mfkit)),
                    "data": {"path": args.data, "lines": lines}, "factors": args.factors,
                    "iterations": args.iterations, "rounds": args.rounds, "mtu": args.mtu,
                    "steps_per_collective": {str(h): v for h, v in per_collective.items()}, "rows": rows})


if __name__ == "__main__":
    main()
