"""`mfkit serve` as a client sees it: the API key, and /metrics read by Prometheus's own parser."""

import json
import socket
import subprocess
import time
import urllib.error
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

import mfkit

KEY = "a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(port, path, key=None):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}")
    if key:
        req.add_header("Authorization", f"Bearer {key}")
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, r.headers, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read().decode()


@pytest.fixture
def server(cli, ratings, tmp_path):
    model = mfkit.BiasedMF(factors=4, epochs=3, random_state=1).fit(ratings, show_progress=False)
    model.save(tmp_path / "m.mfk")
    (tmp_path / "key").write_text(KEY + "\n")
    port = free_port()
    proc = subprocess.Popen([cli, "serve", "-f", f"m={tmp_path / 'm.mfk'}", "--port", str(port), "-q",
                             "--api-key-file", str(tmp_path / "key")], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        for _ in range(100):
            try:
                if get(port, "/healthz")[0] == 200:
                    break
            except OSError:
                if proc.poll() is not None:
                    pytest.fail(proc.stderr.read().decode())
                time.sleep(0.1)
        yield port, str(ratings.user_ids[0])
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_requests_need_the_key_except_healthz(server):
    port, user = server
    assert get(port, "/healthz")[0] == 200
    status, headers, body = get(port, f"/v1/recommend?user={user}&k=2")
    assert status == 401 and headers["WWW-Authenticate"].startswith("Bearer")
    assert json.loads(body)["field"] == "authorization"
    assert get(port, f"/v1/recommend?user={user}&k=2", key=KEY[:-1] + "0")[0] == 401
    status, _, body = get(port, f"/v1/recommend?user={user}&k=2", key=KEY)
    assert status == 200 and len(json.loads(body)["items"]) == 2


def test_metrics_parse_as_prometheus_text(server):
    port, user = server
    for _ in range(5):
        get(port, f"/v1/recommend?user={user}&k=2", key=KEY)
    get(port, "/v1/recommend?user=nobody-at-all", key=KEY)
    status, headers, text = get(port, "/metrics", key=KEY)
    assert status == 200 and headers["Content-Type"].startswith("text/plain; version=0.0.4")
    families = {f.name: f for f in text_string_to_metric_families(text)}
    counts = {(s.labels["endpoint"], s.labels["code"]): s.value
              for s in families["mfkit_http_requests"].samples if s.name == "mfkit_http_requests_total"}
    assert counts[("recommend", "200")] == 5
    assert counts[("recommend", "404")] == 1
    assert counts.get(("recommend", "401"), 0) == 0
    hist = families["mfkit_http_request_duration_seconds"]
    assert hist.type == "histogram"
    buckets = [s for s in hist.samples if s.name.endswith("_bucket") and s.labels["endpoint"] == "recommend"]
    assert buckets[-1].labels["le"] == "+Inf" and buckets[-1].value == 6
    assert [b.value for b in buckets] == sorted(b.value for b in buckets)
    build = families["mfkit_build_info"].samples[0]
    assert build.labels["version"] == mfkit.__version__ and build.value == 1
    assert families["mfkit_model_generation"].samples[0].labels["model"] == "m"
