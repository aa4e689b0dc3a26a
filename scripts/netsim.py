#!/usr/bin/env python3
"""Simulated hosts on one machine: a network namespace of its own, one loopback address and one
host name per host, traffic shaped with tc, and faults on cue.

    scripts/netsim.py --hosts 2 --rate 1gbit --delay 1ms --out /tmp/run -- \\
        torchrun --nnodes 2 --nproc_per_node 1 --rdzv_backend c10d --rdzv_endpoint {first}:29400 \\
            --rdzv_id job --redirects 1 --tee 1 --no_python build/mfkit train ...

The command runs once per host, each in its own UTS, mount and PID namespace inside one network
namespace the script creates (`unshare`; the machine's own interfaces are never touched, and
everything disappears with the last process). Host i is named `host<i>` and owns 127.0.1.<i>:
its /etc/hosts says so, so a program that binds to its host name's address (Gloo does) binds
there, and torchrun's rendezvous hands out `host1` as the master. Each host's processes are in a
cgroup of their own: netfilter gives their packets the host's address as source (on one machine an
unbound socket would get the destination's own), --cpus gives each host a CPU quota and --pin a
core. Placeholders
in the command: {host} (i), {name} (host<i>), {addr} (127.0.1.<i>), {hosts} (N), {first} (host1's
address), {rank} (i - 1).

Links, on every packet a host sends to another host (what it sends itself is left alone):
--rate, the host's uplink (tc HTB classes by source address); --loss (netfilter's statistic match);
--delay and --jitter, one way (netfilter queues each packet to tests/netsim/netdelay.cpp, which
holds it that long: the kernels this runs on may lack netem). Traffic from or to 127.0.0.1 is
dropped unless --allow-localhost: a program that does not use its host's address fails instead of
passing unshaped.

Faults, --fault ACTION:HOST@WHEN (repeatable); WHEN is seconds after the start, a path that must
exist first, or PATH>=N, a file holding a number at least N (e.g. a checkpoint's .latest pointer):
  down           the host's link drops every packet, both ways, from then on
  stop=SECONDS   every process of the host is stopped (SIGSTOP), then continued (SIGCONT)
  kill           the host dies: every process in it is killed
  kill-worker    the host's mfkit processes are killed (torchrun's agent lives on)
  replace        the host dies and a new host (the next number, its own address and name) runs
                 the same command in its place

--out DIR receives host<i>.out / host<i>.err and summary.json (exit code and seconds of every
host, when each fault fired). The exit code is 0 when every host that was not killed exited 0.
Everything is killed after --deadline seconds (exit code 124).
"""
import argparse
import functools
import json
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ADDR = "127.0.1.{}"
ROOT = pathlib.Path(__file__).resolve().parents[1]
CPU_V1 = "/sys/fs/cgroup/cpu"  # the cpu controller where it is mounted as cgroup v1
# --rate: what HTB may send at once above the rate after an idle spell. A wire has no such credit;
# one loopback packet (64 KiB with segmentation offload) is the least HTB can work with.
BURST = "64k"
PERIOD_US = 5000  # --cpus: a short period, so a quota is a steady share and not 50 ms bursts


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--hosts", type=int, required=True)
    p.add_argument("--rate", help="per-host uplink, tc's syntax (100mbit, 1gbit); default unshaped")
    p.add_argument("--delay", help="one-way delay added to each packet a host sends (e.g. 1ms)")
    p.add_argument("--jitter", help="delay variation (needs --delay)")
    p.add_argument("--loss", help="share of a host's packets dropped (e.g. 1%%)")
    p.add_argument("--netdelay", default=os.environ.get("NETSIM_NETDELAY", str(ROOT / "build" / "tests" / "netdelay")),
                   help="the delay program (tests/netsim/netdelay.cpp, built beside the tests)")
    p.add_argument("--cpus", type=float, help="CPU time each host may use, in cores (e.g. 0.5): hosts sharing this "
                   "machine's cores then behave like machines of their own (the cgroup cpu controller's quota)")
    p.add_argument("--pin", action="store_true", help="host i runs on core (i - 1) mod cores only: no host's "
                   "processes move between cores (steadier times when hosts share this machine)")
    p.add_argument("--sysctl", action="append", default=[], metavar="KEY=VALUE",
                   help="a network setting inside the namespace (e.g. net.ipv4.tcp_slow_start_after_idle=0)")
    p.add_argument("--mtu", type=int, default=1500, help="the links' MTU (Ethernet's by default)")
    p.add_argument("--fault", action="append", default=[], help="ACTION:HOST@WHEN (see above)")
    p.add_argument("--deadline", type=float, default=300, help="seconds before everything is killed")
    p.add_argument("--allow-localhost", action="store_true", help="let traffic use 127.0.0.1")
    p.add_argument("--out", required=True, help="folder for the hosts' output and summary.json")
    p.add_argument("--check", action="store_true", help="only say whether this machine can run the harness")
    p.add_argument("command", nargs=argparse.REMAINDER)
    a = p.parse_args(argv)
    if a.command and a.command[0] == "--":
        a.command = a.command[1:]
    if not 1 <= a.hosts <= 200:
        p.error("--hosts must be in [1, 200]")
    if not a.command and not a.check:
        p.error("give the command after --")
    if a.jitter and not a.delay:
        p.error("--jitter needs --delay")
    a.faults = [parse_fault(f, a.hosts, p) for f in a.fault]
    return a


def parse_fault(spec, hosts, p):
    try:
        action, rest = spec.split(":", 1)
        host, when = rest.split("@", 1)
        host = int(host)
    except ValueError:
        p.error(f"--fault {spec}: expected ACTION:HOST@WHEN")
    name, _, arg = action.partition("=")
    if name not in ("down", "stop", "kill", "kill-worker", "replace"):
        p.error(f"--fault {spec}: unknown action {name}")
    if name == "stop" and not arg:
        p.error(f"--fault {spec}: stop=SECONDS")
    if not 1 <= host <= hosts:
        p.error(f"--fault {spec}: host {host} is not in 1..{hosts}")
    try:
        at = float(when)
        path = None
    except ValueError:
        at, path = None, when
    return {"spec": spec, "action": name, "arg": float(arg) if arg else None, "host": host, "at": at,
            "path": path, "fired": None}


def sh(*cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: {r.stderr.strip()}")


@functools.lru_cache(maxsize=None)
def unshare_prefix():
    """The unshare call that gives a network namespace here (as root, else in a user namespace)."""
    for prefix in (("unshare", "--net"), ("unshare", "--user", "--map-root-user", "--net")):
        r = subprocess.run(list(prefix) + ["--mount", "--uts", "true"], capture_output=True, text=True)
        if r.returncode == 0:
            return prefix
    return None


def check_machine(netdelay=None):
    """None when the harness can run here, else why not."""
    for tool in ("unshare", "ip", "tc", "iptables"):
        if not shutil.which(tool):
            return f"{tool} is not installed (scripts/setup.sh installs it)"
    if netdelay is not None and not os.access(netdelay, os.X_OK):
        return f"{netdelay} is not built (it needs libnetfilter-queue-dev)"
    prefix = unshare_prefix()
    if prefix is None:
        return "cannot create a network namespace (unshare --net failed, as root and in a user namespace)"
    root = cgroup_root()
    if root is None or not os.access(root, os.W_OK):
        return "no writable cgroup v2 hierarchy (the hosts' processes are told apart by their cgroups)"
    probe = ("ip link set lo up && tc qdisc add dev lo root handle 1: htb && "
             "iptables -w -t mangle -A PREROUTING -m statistic --mode random --probability 0.5 -j DROP && "
             "iptables -w -t mangle -A PREROUTING -d 127.0.0.2 -j NFQUEUE --queue-num 0 && "
             "iptables -w -t nat -A POSTROUTING -m cgroup --path / -s 127.0.0.3 -j SNAT --to-source 127.0.0.4")
    r = subprocess.run([*prefix, "--fork", "sh", "-c", probe], capture_output=True, text=True)
    if r.returncode != 0:
        return "tc HTB or netfilter (statistic, NFQUEUE, cgroup, SNAT) is not available in a namespace: " + r.stderr.strip()
    return None


# ------------------------------------------------------------------ inside the namespace

def iptables(*rule):
    sh("iptables", "-w", *rule)


def cgroup_root():
    """Where cgroup v2 is mounted (None without it)."""
    with open("/proc/mounts") as f:
        for line in f:
            fields = line.split()
            if len(fields) > 2 and fields[2] == "cgroup2":
                return fields[1]
    return None


def remove_group(path):
    """Removes a cgroup folder and its (empty) child folders; what still holds a process stays."""
    if not os.path.isdir(path):
        return
    for sub in os.listdir(path):
        if os.path.isdir(os.path.join(path, sub)):
            try:
                os.rmdir(os.path.join(path, sub))
            except OSError:
                pass
    try:
        os.rmdir(path)
    except OSError:
        pass


def make_cgroups(hosts_total):
    """One cgroup per host, under netsim-<pid> (those of dead runs removed first)."""
    root = cgroup_root()
    for parent in (root, CPU_V1):
        if os.path.isdir(parent):
            for old in os.listdir(parent):
                if old.startswith("netsim-") and not os.path.exists("/proc/" + old[7:]):
                    remove_group(os.path.join(parent, old))
    name = f"netsim-{os.getpid()}"
    for i in range(1, hosts_total + 1):
        os.makedirs(os.path.join(root, name, f"host{i}"), exist_ok=True)
    return root, name


def cpu_cgroups(name, hosts_total, cores):
    """Per host a cpu cgroup (v1 or v2) allowing `cores` of CPU time; the v1 root (None under v2,
    where they are the hosts' own cgroups) and their folders, by host."""
    quota = int(cores * PERIOD_US)
    if os.path.exists(os.path.join(CPU_V1, "cpu.cfs_quota_us")):
        root, files = CPU_V1, {"cpu.cfs_period_us": str(PERIOD_US), "cpu.cfs_quota_us": str(quota)}
    else:
        root, files = cgroup_root(), {"cpu.max": f"{quota} {PERIOD_US}"}
        controllers = os.path.join(root, "cgroup.controllers")
        if not os.path.exists(controllers) or "cpu" not in open(controllers).read().split():
            raise RuntimeError("--cpus: no cpu cgroup controller here")
        with open(os.path.join(root, name, "cgroup.subtree_control"), "w") as f:
            f.write("+cpu")
    out = {}
    for i in range(1, hosts_total + 1):
        out[i] = os.path.join(root, name, f"host{i}")
        os.makedirs(out[i], exist_ok=True)
        for file, value in files.items():
            with open(os.path.join(out[i], file), "w") as f:
                f.write(value)
    return (root if root == CPU_V1 else None), out


def setup_network(a, hosts_total, cgroups):
    """Addresses, and the links' rate (tc HTB), loss and delay (netfilter).

    What the wire shows: a packet a host's process sends to another host leaves with that host's
    address (the kernel would pick the destination's own address for an unbound socket, as Gloo's
    connecting side is: netfilter rewrites it, knowing the sender by its cgroup). Only traffic
    between two hosts crosses a link: what a host sends to itself is neither shaped, delayed nor
    dropped. Loss and delay act where a packet arrives (mangle PREROUTING, which still sees the
    wire's addresses): held on the sender's side, a packet would still count against its socket's
    TCP Small Queues budget and throttle the sender far below the rate."""
    sh("ip", "link", "set", "lo", "up")
    sh("ip", "link", "set", "lo", "mtu", str(a.mtu))
    for setting in a.sysctl:
        sh("sysctl", "-q", "-w", setting)
    addrs = [ADDR.format(i) for i in range(1, hosts_total + 1)]
    for addr in addrs:
        sh("ip", "addr", "add", addr + "/32", "dev", "lo")
    if not a.allow_localhost:
        for way in ("-s", "-d"):
            iptables("-A", "OUTPUT", way, "127.0.0.1/32", "-j", "DROP")
    for i, addr in enumerate(addrs, 1):
        iptables("-t", "nat", "-A", "POSTROUTING", "-m", "cgroup", "--path", f"{cgroups}/host{i}", "!", "-s", addr,
                 "-j", "SNAT", "--to-source", addr)
    if a.rate:
        sh("tc", "qdisc", "add", "dev", "lo", "root", "handle", "1:", "htb", "r2q", "1000")
        sh("tc", "class", "add", "dev", "lo", "parent", "1:", "classid", "1:999", "htb", "rate", "100gbit")
        for i, addr in enumerate(addrs, 1):
            sh("tc", "class", "add", "dev", "lo", "parent", "1:", "classid", f"1:{i}", "htb", "rate", a.rate, "ceil",
               a.rate, "burst", BURST, "cburst", BURST)
            sh("tc", "filter", "add", "dev", "lo", "parent", "1:", "protocol", "ip", "prio", "1", "u32", "match", "ip",
               "src", addr + "/32", "match", "ip", "dst", addr + "/32", "flowid", "1:999")
            sh("tc", "filter", "add", "dev", "lo", "parent", "1:", "protocol", "ip", "prio", "2", "u32", "match", "ip",
               "src", addr + "/32", "flowid", f"1:{i}")
    if a.loss:
        share = float(a.loss.rstrip("%")) / (100 if a.loss.endswith("%") else 1)
        for addr in addrs:
            iptables("-t", "mangle", "-A", "PREROUTING", "-s", addr, "!", "-d", addr, "-m", "statistic", "--mode",
                     "random", "--probability", f"{share:.6f}", "-j", "DROP")
    delayer = None
    if a.delay:
        ms = lambda t: float(t[:-2]) if t.endswith("ms") else float(t[:-2]) / 1000 if t.endswith("us") else float(t) * 1000
        cmd = [a.netdelay, "0", str(ms(a.delay))] + ([str(ms(a.jitter))] if a.jitter else [])
        delayer = subprocess.Popen(cmd, stderr=open(os.path.join(a.out, "netdelay.err"), "w"))
        time.sleep(0.2)
        if delayer.poll() is not None:
            raise RuntimeError("netdelay did not start: see " + os.path.join(a.out, "netdelay.err"))
        for addr in addrs:
            iptables("-t", "mangle", "-A", "PREROUTING", "-s", addr, "!", "-d", addr, "-j", "NFQUEUE", "--queue-num", "0")
    return delayer


def link_down(i):
    addr = ADDR.format(i)
    for match in (["-s", addr, "!", "-d", addr], ["-d", addr, "!", "-s", addr]):
        iptables("-t", "mangle", "-I", "PREROUTING", "1", *match, "-j", "DROP")


def hosts_file(folder, hosts_total):
    path = os.path.join(folder, "hosts")
    with open(path, "w") as f:
        f.write("127.0.0.1\tlocalhost\n")
        for i in range(1, hosts_total + 1):
            f.write(f"{ADDR.format(i)}\thost{i}\n")
    return path


def reached(when):
    """PATH: the path exists; PATH>=N: the file holds a number at least N (a checkpoint pointer)."""
    path, _, least = when.partition(">=")
    if not least:
        return os.path.exists(path)
    try:
        with open(path) as f:
            return float(f.read().strip() or "nan") >= float(least)
    except (OSError, ValueError):
        return False


class Host:
    def __init__(self, i, a, hosts, out, cgroup, cpu_cgroup=None):
        self.i, self.killed, self.code, self.started = i, False, None, time.monotonic()
        fill = {"host": i, "rank": i - 1, "name": f"host{i}", "addr": ADDR.format(i), "hosts": a.hosts, "first": ADDR.format(1)}
        cmd = [c.format(**fill) for c in a.command]
        boot = f'hostname host{i} && mount --bind "$0" /etc/hosts && exec "$@"'
        env = dict(os.environ, NETSIM_HOST=str(i), NETSIM_ADDR=ADDR.format(i))
        self.out = open(os.path.join(out, f"host{i}.out"), "w")
        self.err = open(os.path.join(out, f"host{i}.err"), "w")
        procs = os.path.join(cgroup, "cgroup.procs")

        core = sorted(os.sched_getaffinity(0))[(i - 1) % len(os.sched_getaffinity(0))] if a.pin else None

        def join_cgroup():
            for where in [procs] + ([os.path.join(cpu_cgroup, "cgroup.procs")] if cpu_cgroup else []):
                with open(where, "w") as f:
                    f.write(str(os.getpid()))
            if core is not None:
                os.sched_setaffinity(0, {core})

        self.proc = subprocess.Popen(["unshare", "--uts", "--mount", "--pid", "--fork", "--kill-child", "sh", "-c", boot,
                                      hosts] + cmd, stdout=self.out, stderr=self.err, env=env, start_new_session=True,
                                     preexec_fn=join_cgroup)

    def init_pid(self):
        """The host's first process (pid 1 of its PID namespace), or None once it is gone."""
        try:
            with open(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children") as f:
                kids = f.read().split()
            return int(kids[0]) if kids else None
        except OSError:
            return None

    def pids(self):
        """Every process of the host (those in its PID namespace)."""
        init = self.init_pid()
        if init is None:
            return []
        try:
            ns = os.readlink(f"/proc/{init}/ns/pid")
        except OSError:
            return []
        out = []
        for p in os.listdir("/proc"):
            if p.isdigit():
                try:
                    if os.readlink(f"/proc/{p}/ns/pid") == ns:
                        out.append(int(p))
                except OSError:
                    pass
        return out

    def signal_all(self, sig, only=None):
        for p in self.pids():
            try:
                if only:
                    with open(f"/proc/{p}/comm") as f:
                        if f.read().strip() != only:
                            continue
                os.kill(p, sig)
            except OSError:
                pass

    def kill(self):
        self.killed = True
        init = self.init_pid()
        if init is not None:
            try:
                os.kill(init, signal.SIGKILL)  # the PID namespace and all in it go with its first process
            except OSError:
                pass
        self.proc.kill()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        self.poll()

    def poll(self):
        if self.code is None and self.proc.poll() is not None:
            self.code = self.proc.returncode
            self.seconds = time.monotonic() - self.started
        return self.code


def inside(a):
    os.makedirs(a.out, exist_ok=True)
    folder = tempfile.mkdtemp(prefix="netsim-")
    extra = sum(f["action"] == "replace" for f in a.faults)
    hosts = None
    delayer = None
    running = []
    cg_root, cg_name = make_cgroups(a.hosts + extra)
    cgroup = lambda i: os.path.join(cg_root, cg_name, f"host{i}")
    cpu_root, cpu_dirs = cpu_cgroups(cg_name, a.hosts + extra, a.cpus) if a.cpus else (None, {})
    start = time.monotonic()
    timed_out = False
    try:
        delayer = setup_network(a, a.hosts + extra, cg_name)
        hosts = hosts_file(folder, a.hosts + extra)
        running = [Host(i, a, hosts, a.out, cgroup(i), cpu_dirs.get(i)) for i in range(1, a.hosts + 1)]
        by_number = {h.i: h for h in running}
        next_host = a.hosts + 1
        stopped = []  # (when to continue, host)
        while True:
            now = time.monotonic() - start
            for f in a.faults:
                if f["fired"] is not None:
                    continue
                due = (f["at"] is not None and now >= f["at"]) or (f["path"] is not None and reached(f["path"]))
                if not due:
                    continue
                f["fired"] = round(now, 3)
                h = by_number[f["host"]]
                if f["action"] == "down":
                    link_down(h.i)
                elif f["action"] == "stop":
                    h.signal_all(signal.SIGSTOP)
                    stopped.append((now + f["arg"], h))
                elif f["action"] == "kill":
                    h.kill()
                elif f["action"] == "kill-worker":
                    h.signal_all(signal.SIGKILL, only="mfkit")
                elif f["action"] == "replace":
                    h.kill()
                    new = Host(next_host, a, hosts, a.out, cgroup(next_host), cpu_dirs.get(next_host))
                    running.append(new)
                    by_number[next_host] = new
                    f["replaced_by"] = next_host
                    next_host += 1
            for when, h in list(stopped):
                if now >= when:
                    h.signal_all(signal.SIGCONT)
                    stopped.remove((when, h))
            if all(h.poll() is not None for h in running):
                break
            if now > a.deadline:
                timed_out = True
                break
            time.sleep(0.05)
    finally:
        for h in running:
            if h.poll() is None:
                h.kill()
        if delayer is not None:
            delayer.kill()
        shutil.rmtree(folder, ignore_errors=True)
        if cpu_root is not None:
            remove_group(os.path.join(cpu_root, cg_name))
        remove_group(os.path.join(cg_root, cg_name))
    summary = {
        "hosts": [{"host": h.i, "addr": ADDR.format(h.i), "exit_code": h.code, "seconds": round(h.seconds, 3),
                   "killed": h.killed} for h in running],
        "faults": [{k: f[k] for k in ("spec", "fired") if k in f} | ({"replaced_by": f["replaced_by"]} if "replaced_by" in f else {})
                   for f in a.faults],
        "network": {"rate": a.rate, "delay": a.delay, "jitter": a.jitter, "loss": a.loss, "mtu": a.mtu, "cpus": a.cpus, "pin": a.pin,
                    "sysctl": a.sysctl},
        "timed_out": timed_out,
    }
    tmp = os.path.join(a.out, "summary.json.tmp")
    with open(tmp, "w") as f:
        json.dump(summary, f, indent=1)
    os.replace(tmp, os.path.join(a.out, "summary.json"))
    if timed_out:
        print(f"netsim: deadline of {a.deadline} s passed; every host was killed", file=sys.stderr)
        return 124
    return 0 if all(h.code == 0 for h in running if not h.killed) else 1


def main(argv):
    a = parse_args(argv)
    if a.check:
        why = check_machine(a.netdelay)
        print(why or "ok")
        return 0 if why is None else 1
    if os.environ.get("NETSIM_INSIDE") == "1":
        return inside(a)
    why = check_machine(a.netdelay if a.delay else None)
    if why:
        print(f"netsim: {why}", file=sys.stderr)
        return 2
    env = dict(os.environ, NETSIM_INSIDE="1")
    cmd = [*unshare_prefix(), "--fork", "--kill-child", sys.executable, os.path.abspath(__file__), *argv]
    proc = subprocess.Popen(cmd, env=env)
    try:
        return proc.wait(timeout=a.deadline + 30)
    except subprocess.TimeoutExpired:
        proc.kill()
        print("netsim: the harness itself did not stop; killed", file=sys.stderr)
        return 124
    except KeyboardInterrupt:
        proc.kill()
        return 130


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
