"""Distributed training between simulated hosts (scripts/netsim.py): each host its own loopback
address and name in a network namespace the harness creates and removes; 127.0.0.1 is closed, so
a rank that does not use its host's address fails. Faults as users meet them: a link that goes
down, a host that stalls, a rank that dies and is restarted by torchrun, a host replaced by
another."""

import json
import os
import pathlib
import shutil
import subprocess
import sys

import numpy as np
import pytest

from conftest import BUILD, ROOT

NETSIM = ROOT / "scripts" / "netsim.py"


def _unavailable():
    if not shutil.which("torchrun"):
        return "torchrun (python3-torch) is not installed"
    r = subprocess.run([sys.executable, str(NETSIM), "--hosts", "1", "--out", "/tmp", "--check"], capture_output=True,
                       text=True)
    return None if r.returncode == 0 else r.stdout.strip() or r.stderr.strip()


WHY = _unavailable()
pytestmark = pytest.mark.skipif(WHY is not None, reason=f"no simulated hosts here: {WHY}")


@pytest.fixture
def data(tmp_path):
    """400 users x 120 items, about 8,000 ratings 1..5 with a low-rank pattern."""
    rng = np.random.default_rng(11)
    u, i = rng.normal(size=(400, 3)), rng.normal(size=(120, 3))
    lines = set()
    while len(lines) < 8000:
        a, b = int(rng.integers(400)), int(rng.integers(120))
        lines.add((a, b))
    path = tmp_path / "r.csv"
    with open(path, "w") as f:
        for a, b in sorted(lines):
            f.write(f"u{a},i{b},{int(np.clip(np.round(3 + u[a] @ i[b]), 1, 5))}\n")
    return str(path)


def train(cli, data, model, out, *extra, iterations=8):
    length = "epochs" if model == "biased-mf" else "iterations"
    return [cli, "train", "-m", model, "--data", data, "--format", "user,item,rating", "--split", "none", "--threads", "1",
            "--set", "factors=8", "--set", f"{length}={iterations}", "-o", out, *extra]


def by_hand(cmd):
    """One rank per host, started without torchrun (RANK and the master's name set by hand)."""
    return ["env", "RANK={rank}", "WORLD_SIZE={hosts}", "MASTER_ADDR=host1", "MASTER_PORT=29500"] + cmd


def torchrun(cmd, restarts=0):
    return ["torchrun", "--nnodes", "2", "--nproc_per_node", "1", "--rdzv_backend", "c10d", "--rdzv_endpoint",
            "host1:29400", "--rdzv_id", "job", "--max_restarts", str(restarts), "--monitor_interval", "1",
            "--redirects", "1", "--tee", "1", "--no_python"] + cmd


def netsim(tmp_path, name, command, *options, hosts=2, deadline=120):
    out = tmp_path / name
    r = subprocess.run([sys.executable, str(NETSIM), "--hosts", str(hosts), "--out", str(out), "--deadline", str(deadline),
                        "--netdelay", str(BUILD / "tests" / "netdelay"), *options, "--", *command],
                       capture_output=True, text=True, timeout=deadline + 60)
    summary = json.loads((out / "summary.json").read_text())
    logs = {h["host"]: (out / f"host{h['host']}.out").read_text() + (out / f"host{h['host']}.err").read_text()
            for h in summary["hosts"]}
    return r.returncode, summary, logs


def factors(path):
    """User and item factors of a saved model, rows in raw-id order."""
    import mfkit
    m = mfkit.load(path)
    return [np.asarray(f)[np.argsort(ids)] for f, ids in ((m.user_factors, m.user_ids), (m.item_factors, m.item_ids))]


def relative(a, b):
    return float(np.sqrt(((a - b) ** 2).sum() / (a ** 2).sum()))


def test_two_hosts_on_their_own_addresses_equal_one_process(cli, data, tmp_path):
    one = subprocess.run(train(cli, data, "als", str(tmp_path / "one.mfk")), capture_output=True, text=True)
    assert one.returncode == 0, one.stderr
    code, summary, logs = netsim(tmp_path, "two", by_hand(train(cli, data, "als", str(tmp_path / "two.mfk"))),
                                 "--rate", "1gbit", "--delay", "1ms")
    assert code == 0, logs
    assert [h["addr"] for h in summary["hosts"]] == ["127.0.1.1", "127.0.1.2"]
    for a, b in zip(factors(tmp_path / "one.mfk"), factors(tmp_path / "two.mfk")):
        assert a.shape == b.shape
        assert relative(a, b) < 2e-6  # float rounding only, as tests/dist/train_test.cpp


def test_a_link_that_goes_down_stops_every_rank_within_the_timeout(cli, data, tmp_path):
    ck = tmp_path / "ck"
    cmd = train(cli, data, "implicit-als", str(tmp_path / "m.mfk"), "--timeout", "5", "--checkpoint", str(ck),
                iterations=10000)
    code, summary, logs = netsim(tmp_path, "down", by_hand(cmd), "--fault", f"down:2@{ck}/rank-1-of-2.latest>=3",
                                 deadline=90)
    fired = summary["faults"][0]["fired"]
    assert fired is not None and not summary["timed_out"]
    for h in summary["hosts"]:
        assert h["exit_code"] not in (0, None), logs[h["host"]]
        assert h["seconds"] - fired < 5 + 10, h
        assert "step '" in logs[h["host"]] and f"rank {h['host'] - 1} of 2" in logs[h["host"]], logs[h["host"]]
    assert not (tmp_path / "m.mfk").exists()


@pytest.mark.parametrize("fault", ["stop=3", "loss=5%"])
def test_a_stall_below_the_timeout_or_lossy_links_still_finish(cli, data, tmp_path, fault):
    ck = tmp_path / "ck"
    lossy = fault.startswith("loss")
    cmd = train(cli, data, "biased-mf", str(tmp_path / "m.mfk"), "--timeout", "20", "--checkpoint", str(ck),
                iterations=100 if lossy else 400)
    options = ["--loss", "5%"] if lossy else ["--fault", f"{fault}:2@{ck}/rank-1-of-2.latest>=3"]
    code, summary, logs = netsim(tmp_path, "stall", by_hand(cmd), *options)
    assert code == 0, logs
    assert (tmp_path / "m.mfk").exists()
    if not lossy:  # the stall happened mid-run: every rank waited it out
        fired = summary["faults"][0]["fired"]
        assert fired is not None
        assert all(h["seconds"] > fired + 3 for h in summary["hosts"]), summary


@pytest.mark.parametrize("fault", ["kill-worker", "replace"])
def test_a_dead_rank_is_restarted_and_resumes_to_the_uninterrupted_model(cli, data, tmp_path, fault):
    whole = train(cli, data, "implicit-als", str(tmp_path / "whole.mfk"), "--checkpoint", str(tmp_path / "ck0"),
                  iterations=300)
    code, _, logs = netsim(tmp_path, "whole", torchrun(whole))
    assert code == 0, logs
    ck = tmp_path / "ck"
    cut = train(cli, data, "implicit-als", str(tmp_path / "cut.mfk"), "--checkpoint", str(ck), iterations=300)
    code, summary, logs = netsim(tmp_path, "cut", torchrun(cut, restarts=2), "--fault",
                                 f"{fault}:2@{ck}/rank-1-of-2.latest>=8")
    assert code == 0, logs
    assert summary["faults"][0]["fired"] is not None
    if fault == "replace":
        assert [h["host"] for h in summary["hosts"] if not h["killed"]] == [1, 3]
    assert "resumed after iteration" in "".join(logs.values()), logs  # no one typed --resume
    for a, b in zip(factors(tmp_path / "cut.mfk"), factors(tmp_path / "whole.mfk")):
        assert np.array_equal(a, b)
