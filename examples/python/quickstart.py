"""Switchyard from Python: a chat call, a stream, embeddings, errors, metrics.

Run against the mock provider (from the repository root):

    target/debug/switchyard-mock --addr 127.0.0.1:0   # prints: listening on http://127.0.0.1:PORT
    SWITCHYARD_MOCK_URL=http://127.0.0.1:PORT python examples/python/quickstart.py
"""

from __future__ import annotations

import os
from typing import Any, Dict

import switchyard
from switchyard import Switchyard


def config(base_url: str) -> Dict[str, Any]:
    """The same document as a switchyard.yaml, as a dict."""
    return {
        "version": 1,
        "providers": {"oa": {"kind": "openai", "base_url": f"{base_url}/v1", "api_key": "sk-demo"}},
        "models": {
            "chat": {"deployments": [{"provider": "oa", "model": "gpt-4o-mini"}]},
            "embed": {"type": "embedding", "deployments": [{"provider": "oa", "model": "text-embedding-3-small"}]},
        },
    }


def main() -> None:
    base_url = os.environ.get("SWITCHYARD_MOCK_URL", "http://127.0.0.1:8080")
    with Switchyard(config=config(base_url)) as client:
        messages = [{"role": "user", "content": "Say hello."}]

        r = client.chat.completions.create(model="chat", messages=messages, temperature=0)
        print("answer:", r.choices[0].message.content)
        print("tokens:", r.usage.total_tokens if r.usage else None)
        print("served by:", r.switchyard.deployment, f"${r.switchyard.cost_usd:.6f}")

        again = client.chat.completions.create(model="chat", messages=messages, temperature=0)
        print("second call from the cache:", again.switchyard.cache_hit)

        print("stream:", end=" ")
        stream = client.chat.completions.create(model="chat", messages=messages, stream=True)
        for chunk in stream:
            if chunk.choices:
                print(chunk.choices[0].delta.content or "", end="", flush=True)
        print()

        vectors = client.embeddings.create(model="embed", input=["a", "b"])
        print("embeddings:", len(vectors.data), "x", len(vectors.data[0].embedding))

        try:
            client.chat.completions.create(model="chat", messages=[{"role": "wizard", "content": "x"}])
        except switchyard.BadRequestError as error:
            print("bad request, field:", error.field)

        print("models:", [m.id for m in client.models.list()])
        calls = sum(d["calls"] for d in client.metrics()["deployments"])
        print("calls so far:", calls)


if __name__ == "__main__":
    main()
