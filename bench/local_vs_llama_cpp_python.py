#!/usr/bin/env python3
"""Switchyard's local provider vs llama-cpp-python, side by side.

Same GGUF (SmolLM2-135M-Instruct Q4_1), same thread count, same ~100-token user prompt in
the model's ChatML template, 128 generated tokens (end-of-turn suppressed), greedy. Each
engine runs in a fresh process: the first token of its first run gives the cold time to
first token (from process start, model load included); later runs give prompt tokens/s
(prompt tokens / time to first token) and generation tokens/s (tokens after the first /
time after the first), the same formulas for both. Peak RSS comes from wait4().

Usage: python3 bench/local_vs_llama_cpp_python.py [--threads 2] [--runs 4] [--gen 128]
Needs: cargo (builds core/examples/local_bench.rs in release), python3 with venv + pip
(llama-cpp-python is installed from PyPI into a virtualenv, a source build: minutes),
cmake and a C++ compiler, and the model (`make model`).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODEL = os.path.join(ROOT, "models", "SmolLM2-135M-Instruct.Q4_1.gguf")
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
VENV = os.path.join(TARGET, "bench-venv-llama-cpp-python")

PROMPT = (
    "You are reviewing a short report about a small town. The town has a river, an old stone "
    "bridge, a market on Saturdays, a library that opens late on Thursdays, and a bakery "
    "known for its rye bread. Last year the council repaired the bridge, planted trees along "
    "the river and added a bus line to the next city. Residents say the market is busier, "
    "the library needs more space, and parking near the bakery is hard in the morning. "
    "Write a detailed summary of the report, then suggest improvements for the town."
)

PY_BENCH = textwrap.dedent(
    """
    import json, sys, time
    t0 = time.perf_counter()
    from llama_cpp import Llama
    model, threads, prompt_file, gen, runs = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
    prompt = open(prompt_file).read().strip()
    llm = Llama(model_path=model, n_ctx=2048, n_batch=2048, n_threads=threads,
                n_threads_batch=threads, verbose=False)
    # llama.cpp's built-in ChatML rendering, as Switchyard's provider applies it.
    text = "<|im_start|>user\\n" + prompt + "<|im_end|>\\n<|im_start|>assistant\\n"
    eog = [t for t in range(llm.n_vocab()) if llm._model.token_is_eog(t)] if hasattr(llm._model, "token_is_eog") else [0, 1, 2]
    bias = {t: -1e9 for t in eog}
    results, cold = [], None
    for _ in range(runs):
        llm.reset()
        start = time.perf_counter()
        first, n, finish = None, 0, None
        for chunk in llm.create_completion(text, max_tokens=gen, temperature=0.0, top_k=1,
                                           logit_bias=bias, stream=True):
            n += 1
            finish = chunk["choices"][0].get("finish_reason") or finish
            if first is None:
                first = time.perf_counter() - start
                if cold is None:
                    cold = time.perf_counter() - t0
        total = time.perf_counter() - start
        # Chunks can merge tokens (held-back UTF-8); with EOS suppressed it ran to max_tokens.
        if finish == "length":
            n = gen
        n_prompt = len(llm.tokenize(text.encode(), add_bos=False, special=True))
        results.append({"prompt_tokens": n_prompt, "completion_tokens": n, "ttft_s": first,
                        "prompt_tps": n_prompt / first, "gen_tps": (n - 1) / (total - first)})
    print(json.dumps({"engine": "llama-cpp-python", "cold_ttft_s": cold, "runs": results}))
    """
)


def run(cmd, **kw):
    print("+", " ".join(cmd), file=sys.stderr)
    return subprocess.run(cmd, check=True, **kw)


def measured(cmd, env=None):
    """Runs cmd, returns (parsed JSON stdout, peak RSS in MB)."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, env=env)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    if status != 0:
        sys.exit(f"{cmd[0]} failed with status {status}")
    return json.loads(out), usage.ru_maxrss / 1024.0


def ensure_llama_cpp_python():
    py = os.path.join(VENV, "bin", "python")
    if not os.path.exists(py):
        run([sys.executable, "-m", "venv", VENV])
    check = subprocess.run([py, "-c", "import llama_cpp; print(llama_cpp.__version__)"],
                           capture_output=True, text=True)
    if check.returncode != 0:
        run([py, "-m", "pip", "install", "--quiet", "--upgrade", "pip"])
        # PyPI's llama-cpp-python is a source distribution: this compiles llama.cpp
        # (its default build: GGML_NATIVE=ON, i.e. -march=native).
        run([py, "-m", "pip", "install", "--quiet", "llama-cpp-python"])
        check = subprocess.run([py, "-c", "import llama_cpp; print(llama_cpp.__version__)"],
                               capture_output=True, text=True, check=True)
    return py, check.stdout.strip()


def summary(result, rss):
    runs = result["runs"][1:] or result["runs"]  # the first (cold) run warms caches
    med = lambda key: statistics.median(r[key] for r in runs)
    return {
        "prompt_tokens": runs[0]["prompt_tokens"],
        "completion_tokens": runs[0]["completion_tokens"],
        "prompt_tps": med("prompt_tps"),
        "gen_tps": med("gen_tps"),
        "cold_ttft_s": result["cold_ttft_s"],
        "peak_rss_mb": rss,
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=4)
    ap.add_argument("--gen", type=int, default=128)
    args = ap.parse_args()
    if not os.path.exists(MODEL):
        run(["bash", os.path.join(ROOT, "scripts", "fetch-model.sh")])

    run(["cargo", "build", "--release", "-p", "switchyard", "--features", "local",
         "--example", "local_bench"], cwd=ROOT)
    ours_bin = os.path.join(TARGET, "release", "examples", "local_bench")
    py, version = ensure_llama_cpp_python()

    with tempfile.TemporaryDirectory() as tmp:
        prompt_file = os.path.join(tmp, "prompt.txt")
        with open(prompt_file, "w") as f:
            f.write(PROMPT)
        script = os.path.join(tmp, "py_bench.py")
        with open(script, "w") as f:
            f.write(PY_BENCH)
        common = [MODEL, str(args.threads), prompt_file, str(args.gen), str(args.runs)]
        ours = summary(*measured([ours_bin] + common))
        theirs = summary(*measured([py, script] + common))

    rows = [
        ("prompt tokens", "prompt_tokens", "{:.0f}"),
        ("generated tokens", "completion_tokens", "{:.0f}"),
        ("prompt tokens/s", "prompt_tps", "{:.1f}"),
        ("generation tokens/s", "gen_tps", "{:.1f}"),
        ("cold TTFT (s, from process start)", "cold_ttft_s", "{:.3f}"),
        ("peak RSS (MB)", "peak_rss_mb", "{:.1f}"),
    ]
    print(f"\nSmolLM2-135M-Instruct Q4_1, {args.threads} threads, {args.gen} tokens, "
          f"greedy, median of {max(args.runs - 1, 1)} warm runs; llama-cpp-python {version}")
    print(f"{'':36}{'switchyard':>14}{'llama-cpp-python':>18}{'ratio':>8}")
    for label, key, fmt in rows:
        a, b = ours[key], theirs[key]
        ratio = f"{a / b:.2f}x" if b else ""
        print(f"{label:36}{fmt.format(a):>14}{fmt.format(b):>18}{ratio:>8}")
    print(json.dumps({"switchyard": ours, "llama_cpp_python": theirs}))


if __name__ == "__main__":
    main()
