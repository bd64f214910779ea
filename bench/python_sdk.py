"""Python SDK benchmark against the mock provider (loopback only, bounded loops).

Per-call latency p50/p99 of switchyard vs raw httpx (persistent client) vs the official
openai package in one run; cache-hit latency; `import switchyard` time; streaming time to
first token vs openai; the resident memory (RSS) of a process after building a client and
after BENCH_RSS_CALLS calls (cache off), switchyard vs openai, each in a fresh process. Run it with bench/python_sdk.sh (installs httpx/openai into .venv).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
import urllib.request
from typing import Any, Callable, Dict, List

N = int(os.environ.get("BENCH_CALLS", "2000"))
WARMUP = 200
STREAM_N = int(os.environ.get("BENCH_STREAMS", "300"))
MESSAGES = [{"role": "user", "content": "Say hello."}]
RSS_CALLS = int(os.environ.get("BENCH_RSS_CALLS", "20000"))

# A fresh process: RSS after the client is built, then after the calls (cache off).
RSS_PROBE = """
import json, sys
def rss_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
which, root, calls = sys.argv[1], sys.argv[2], int(sys.argv[3])
messages = [{"role": "user", "content": "Say hello."}]
if which == "switchyard":
    import switchyard
    client = switchyard.Switchyard(config={
        "version": 1, "cache": {"mode": "off"},
        "providers": {"oa": {"kind": "openai", "base_url": root, "api_key": "sk-bench"}},
        "models": {"chat": {"deployments": [{"provider": "oa", "model": "gpt-4o-mini"}]}},
    })
    call = lambda: client.chat.completions.create(model="chat", messages=messages)
else:
    import openai
    client = openai.OpenAI(base_url=root, api_key="sk-bench", max_retries=0)
    call = lambda: client.chat.completions.create(model="gpt-4o-mini", messages=messages)
built = rss_mb()
for _ in range(calls):
    call()
print(json.dumps({"after_client_mb": round(built, 1), "after_calls_mb": round(rss_mb(), 1), "calls": calls}))
"""


def rss(which: str, root: str, calls: int = RSS_CALLS) -> Dict[str, Any]:
    out = subprocess.run([sys.executable, "-c", RSS_PROBE, which, root, str(calls)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def pct(samples: List[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


def measure(fn: Callable[[], Any], n: int = N) -> Dict[str, float]:
    for _ in range(WARMUP):
        fn()
    samples = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t) * 1e6)
    return {"p50_us": pct(samples, 0.50), "p99_us": pct(samples, 0.99), "mean_us": statistics.fmean(samples)}


def post(url: str, body: Any) -> Any:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST")
    req.add_header("content-type", "application/json")
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read())


def import_time() -> float:
    runs = []
    code = "import time; t = time.perf_counter(); import switchyard; print(time.perf_counter() - t)"
    for _ in range(7):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        runs.append(float(out.stdout) * 1000.0)
    return statistics.median(runs)


def main() -> None:
    import httpx
    import openai

    import switchyard

    mock_bin = os.environ["SWITCHYARD_MOCK_BIN"]
    proc = subprocess.Popen([mock_bin, "--addr", "127.0.0.1:0"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    base = proc.stdout.readline().split()[-1]
    try:
        script = {"models": {"*": [{"content": "Hello there, this is a benchmark answer with a few words in it."}]}}
        sid = post(f"{base}/_mock/sessions", script)["id"]
        root = f"{base}/s/{sid}/v1"
        config = {
            "version": 1,
            "providers": {"oa": {"kind": "openai", "base_url": root, "api_key": "sk-bench"}},
            "models": {"chat": {"deployments": [{"provider": "oa", "model": "gpt-4o-mini"}]}},
        }
        results: Dict[str, Any] = {"calls": N}

        client = switchyard.Switchyard(config=config)
        hx = httpx.Client(base_url=root, headers={"authorization": "Bearer sk-bench"})
        oa = openai.OpenAI(base_url=root, api_key="sk-bench", max_retries=0)
        body = {"model": "gpt-4o-mini", "messages": MESSAGES}

        def raw_httpx() -> Any:
            r = hx.post("/chat/completions", json=body)
            return r.json()["choices"][0]["message"]["content"]

        def official() -> Any:
            return oa.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES).choices[0].message.content  # type: ignore[arg-type]

        def ours() -> Any:
            return client.chat.completions.create(model="chat", messages=MESSAGES, cache="bypass").choices[0].message.content

        def ours_hit() -> Any:
            return client.chat.completions.create(model="chat", messages=MESSAGES, temperature=0).choices[0].message.content

        # Interleave the three in rounds so drift (other load on the machine) hits all alike.
        rounds = 4
        per = {"switchyard": [], "httpx": [], "openai": []}  # type: Dict[str, List[Dict[str, float]]]
        for _ in range(rounds):
            per["httpx"].append(measure(raw_httpx, N // rounds))
            per["openai"].append(measure(official, N // rounds))
            per["switchyard"].append(measure(ours, N // rounds))
        for name, runs in per.items():
            results[name] = {k: statistics.median(r[k] for r in runs) for k in ("p50_us", "p99_us", "mean_us")}
        results["switchyard_over_httpx_p50"] = results["switchyard"]["p50_us"] / results["httpx"]["p50_us"]
        results["switchyard_over_openai_p50"] = results["switchyard"]["p50_us"] / results["openai"]["p50_us"]
        results["cache_hit"] = measure(ours_hit, N)

        # Streaming time to first token (first chunk with content).
        def ttft_ours() -> float:
            t = time.perf_counter()
            stream = client.chat.completions.create(model="chat", messages=MESSAGES, stream=True)
            first = 0.0
            for chunk in stream:
                if not first and chunk.choices and chunk.choices[0].delta.content:
                    first = time.perf_counter() - t
            return first * 1e6

        def ttft_openai() -> float:
            t = time.perf_counter()
            stream = oa.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True)  # type: ignore[arg-type]
            first = 0.0
            for chunk in stream:
                if not first and chunk.choices and chunk.choices[0].delta.content:
                    first = time.perf_counter() - t
            return first * 1e6

        for name, fn in (("stream_ttft_switchyard", ttft_ours), ("stream_ttft_openai", ttft_openai)):
            for _ in range(30):
                fn()
            samples = [fn() for _ in range(STREAM_N)]
            results[name] = {"p50_us": pct(samples, 0.5), "p99_us": pct(samples, 0.99)}

        results["import_switchyard_ms"] = import_time()
        results["rss_switchyard"] = rss("switchyard", root)
        results["rss_openai"] = rss("openai", root)
        client.close()
        hx.close()
    finally:
        proc.terminate()
        proc.wait(timeout=5)

    print(json.dumps(results, indent=2))
    rss_after = results["rss_switchyard"]["after_calls_mb"]
    ok = (
        results["switchyard_over_httpx_p50"] <= 1.0
        and results["cache_hit"]["p50_us"] <= 20.0
        and results["import_switchyard_ms"] <= 50.0
        and rss_after <= 40.0
    )
    print(
        f"targets: p50 vs httpx {results['switchyard_over_httpx_p50']:.2f}x (<= 1.0), "
        f"cache hit p50 {results['cache_hit']['p50_us']:.1f} us (<= 20), "
        f"import {results['import_switchyard_ms']:.1f} ms (<= 50), "
        f"RSS after {RSS_CALLS} calls {rss_after:.1f} MB (<= 40; openai "
        f"{results['rss_openai']['after_calls_mb']:.1f} MB): {'met' if ok else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
