"""Runs the shared conformance scenarios (tests/conformance/) through the Python client,
blocking or asyncio, implementing every field of tests/conformance/README.md."""

from __future__ import annotations

import asyncio
import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import switchyard
from switchyard import AsyncSwitchyard, Switchyard, SwitchyardError

from conftest import Mock


class Mismatch(AssertionError):
    pass


@dataclass
class CallResult:
    error: Optional[SwitchyardError] = None
    text: str = ""
    finish_reason: Optional[str] = None
    tool_calls: List[Dict[str, Any]] = field(default_factory=list)
    usage: Optional[Dict[str, Any]] = None
    meta: Optional[Dict[str, Any]] = None
    chunks: int = 0
    restarted: bool = False
    embeddings: Optional[Tuple[int, int]] = None
    models: Optional[List[str]] = None
    elapsed_ms: float = 0.0
    user: Optional[str] = None


def local_model_path() -> str:
    """The model the `local_*` scenarios run: $SWITCHYARD_LOCAL_MODEL, else `make model`'s file."""
    configured = os.environ.get("SWITCHYARD_LOCAL_MODEL")
    if configured:
        return configured
    root = Path(__file__).resolve().parents[2]
    return str(root / "models" / "SmolLM2-135M-Instruct.Q4_1.gguf")


def substitute(value: Any, base: str) -> Any:
    if isinstance(value, str):
        return value.replace("{{mock}}", base).replace("{{local_model}}", local_model_path())
    if isinstance(value, list):
        return [substitute(v, base) for v in value]
    if isinstance(value, dict):
        return {k: substitute(v, base) for k, v in value.items()}
    return value


def call_kwargs(step: Dict[str, Any], i: int = 0, c: int = 0) -> Dict[str, Any]:
    """The request as the SDK's keywords: model and messages/input by name, every other
    request field sent verbatim (extra_body), the step's options as call options."""
    request = dict(step.get("request") or {})
    kwargs: Dict[str, Any] = {"model": request.pop("model", None)}
    if step["op"] == "embed":
        kwargs["input"] = request.pop("input", None)
    else:
        kwargs["messages"] = request.pop("messages", None)
        request.pop("stream", None)
    kwargs["extra_body"] = request
    options = step.get("options") or {}
    for name, value in options.items():
        if name == "timeout_ms":
            kwargs["timeout"] = value / 1000.0
        elif name == "user":
            kwargs["end_user"] = value
        elif name in ("session", "tenant", "app", "tags", "metadata", "cache", "deployment"):
            kwargs[name] = value
        elif name == "user_template":
            kwargs["end_user"] = value.replace("{i}", str(i)).replace("{c}", str(c))
        elif name == "abandon_after_chunks":
            pass
        else:
            raise Mismatch(f"unknown call option {name!r} in the scenario")
    return kwargs


def chat_result(response: Any) -> CallResult:
    choice = response.choices[0] if response.choices else None
    tool_calls = []
    if choice is not None and choice.message.tool_calls:
        tool_calls = [
            {"id": c.id, "name": c.function.name, "arguments": c.function.arguments}
            for c in choice.message.tool_calls
        ]
    return CallResult(
        text=(choice.message.content or "") if choice is not None else "",
        finish_reason=choice.finish_reason if choice is not None else None,
        tool_calls=tool_calls,
        usage=response.usage.to_dict() if response.usage is not None else None,
        meta=response.switchyard.to_dict(),
    )


def embed_result(response: Any) -> CallResult:
    dims = len(response.data[0].embedding) if response.data else 0
    return CallResult(
        embeddings=(len(response.data), dims),
        usage={"prompt_tokens": response.usage.prompt_tokens, "completion_tokens": 0},
        meta=response.switchyard.to_dict(),
    )


class Assembler:
    """Concatenates streamed chunks into the answer of choice 0."""

    def __init__(self) -> None:
        self.text: List[str] = []
        self.finish_reason: Optional[str] = None
        self.tools: Dict[int, Dict[str, Any]] = {}
        self.usage: Optional[Dict[str, Any]] = None

    def push(self, chunk: Any) -> None:
        if chunk.usage is not None:
            self.usage = chunk.usage.to_dict()
        for choice in chunk.choices or []:
            if choice.index != 0:
                continue
            delta = choice.delta
            if delta.content:
                self.text.append(delta.content)
            for call in delta.tool_calls or []:
                slot = self.tools.setdefault(call.index, {"id": "", "name": "", "arguments": ""})
                if call.id:
                    slot["id"] = call.id
                if call.function is not None:
                    if call.function.name:
                        slot["name"] += call.function.name
                    if call.function.arguments:
                        slot["arguments"] += call.function.arguments
            if choice.finish_reason:
                self.finish_reason = choice.finish_reason

    def into(self, result: CallResult) -> None:
        result.text = "".join(self.text)
        result.finish_reason = self.finish_reason
        result.tool_calls = [self.tools[i] for i in sorted(self.tools)]
        result.usage = self.usage


def is_restart(chunk: Any) -> bool:
    marker = chunk.switchyard
    return marker is not None and marker.restart is True


# ---------------------------------------------------------------- checks


def same(what: str, expected: Any, actual: Any) -> None:
    if expected != actual:
        raise Mismatch(f"{what}: expected {expected!r}, got {actual!r}")


def check_call(expect: Optional[Dict[str, Any]], r: CallResult) -> None:
    expect = expect or {}
    e = expect.get("error")
    if e is None and r.error is not None:
        raise Mismatch(f"unexpected error: {r.error!r} ({type(r.error).__name__})")
    if e is not None and r.error is None:
        raise Mismatch(f"expected a {e.get('kind')} error, the call succeeded")
    if e is not None and r.error is not None:
        err = r.error
        same(f"error kind ({err})", e["kind"], err.code)
        # The class the binding picks: by kind, refined by the provider's status (a 422
        # bad_request is an UnprocessableEntityError, a 403 auth a PermissionDeniedError,
        # as in the openai package).
        expected_cls = switchyard._errors._BY_STATUS.get(
            (err.code, getattr(err, "http_status", None))
        ) or switchyard._errors._BY_CODE.get(err.code)
        if expected_cls is not None and not isinstance(err, expected_cls):
            raise Mismatch(f"error {err!r} is not a {expected_cls.__name__}")
        if "field" in e:
            same("error field", e["field"], err.field)
        if "rule" in e:
            same("error rule", e["rule"], err.rule)
        if "status" in e:
            same("error status", e["status"], err.status)
        if "retryable" in e:
            same("error retryable", e["retryable"], err.retryable)
        if "deployment" in e:
            same("error deployment", e["deployment"], err.deployment)
        if "message_contains" in e and e["message_contains"] not in err.message:
            raise Mismatch(f"error message {err.message!r} lacks {e['message_contains']!r}")
        if "after_chunks_min" in e and r.chunks < e["after_chunks_min"]:
            raise Mismatch(f"error came after {r.chunks} chunks, expected at least {e['after_chunks_min']}")
    if "content" in expect:
        same("content", expect["content"], r.text)
    if "content_contains" in expect and expect["content_contains"] not in r.text:
        raise Mismatch(f"content {r.text!r} lacks {expect['content_contains']!r}")
    if "finish_reason" in expect:
        same("finish_reason", expect["finish_reason"], r.finish_reason)
    if "tool_calls" in expect:
        calls = expect["tool_calls"]
        same("tool call count", len(calls), len(r.tool_calls))
        for want, got in zip(calls, r.tool_calls):
            same("tool name", want["name"], got["name"])
            if not got["id"]:
                raise Mismatch("a tool call has no id")
            if "arguments" in want:
                try:
                    parsed = json.loads(got["arguments"])
                except ValueError as exc:
                    raise Mismatch(f"tool arguments are not JSON ({exc}): {got['arguments']}")
                same("tool arguments", want["arguments"], parsed)
    if "usage" in expect:
        usage = r.usage or {}
        details = usage.get("prompt_tokens_details") or {}
        actual = {
            "prompt_tokens": usage.get("prompt_tokens", 0),
            "completion_tokens": usage.get("completion_tokens", 0),
            "total_tokens": usage.get("total_tokens", 0),
            "cached_tokens": details.get("cached_tokens") or 0,
        }
        for name, value in expect["usage"].items():
            same(name, value, actual[name])
    if r.embeddings is not None:
        if "embeddings" in expect:
            same("embedding count", expect["embeddings"]["count"], r.embeddings[0])
            if "dimensions" in expect["embeddings"]:
                same("embedding dimensions", expect["embeddings"]["dimensions"], r.embeddings[1])
    elif "embeddings" in expect:
        raise Mismatch("expected embeddings, got none")
    if "models" in expect:
        same("models", expect["models"], r.models)
    if "chunks_min" in expect and r.chunks < expect["chunks_min"]:
        raise Mismatch(f"{r.chunks} chunks, expected at least {expect['chunks_min']}")
    if "restarted" in expect:
        same("restarted", expect["restarted"], r.restarted)
    elapsed = int(r.elapsed_ms)
    if "elapsed_ms_min" in expect and elapsed < expect["elapsed_ms_min"]:
        raise Mismatch(f"took {elapsed} ms, expected at least {expect['elapsed_ms_min']}")
    if "elapsed_ms_max" in expect and elapsed > expect["elapsed_ms_max"]:
        raise Mismatch(f"took {elapsed} ms, expected at most {expect['elapsed_ms_max']}")
    meta_keys = ("deployment", "model", "attempts", "cache_hit", "fallback", "fallback_taken", "cost_usd")
    if not any(k in expect for k in meta_keys):
        return
    meta = r.meta
    if meta is None:
        raise Mismatch("no call metadata")
    for key in ("deployment", "model", "attempts", "cache_hit", "fallback"):
        if key in expect:
            same(key, expect[key], meta[key])
    if "fallback_taken" in expect:
        same("fallback taken", expect["fallback_taken"], meta["fallback"] is not None)
    if "cost_usd" in expect:
        cost = expect["cost_usd"]
        if abs(cost - meta["cost_usd"]) > 1e-9 + abs(cost) * 1e-6:
            raise Mismatch(f"cost_usd: expected {cost}, got {meta['cost_usd']}")


def check_outcomes(expected: Dict[str, int], results: List[CallResult]) -> None:
    actual: Dict[str, int] = {}
    for r in results:
        key = r.error.code if r.error is not None else "ok"
        actual[key] = actual.get(key, 0) + 1
    same("outcomes", dict(sorted(expected.items())), dict(sorted(actual.items())))


def check_batch(step: Dict[str, Any], results: List[CallResult]) -> None:
    outcomes = step.get("outcomes")
    if outcomes is None:
        for i, r in enumerate(results):
            try:
                check_call(step.get("expect"), r)
            except Mismatch as exc:
                raise Mismatch(f"call {i}: {exc}") from None
    else:
        check_outcomes(outcomes, results)
        for r in results:
            if r.error is None:
                check_call(step.get("expect"), r)
    if "deployment_counts" in step:
        counts: Dict[str, int] = {}
        for r in results:
            if r.error is None and r.meta is not None:
                counts[r.meta["deployment"]] = counts.get(r.meta["deployment"], 0) + 1
        for deployment, (low, high) in step["deployment_counts"].items():
            got = counts.get(deployment, 0)
            if not low <= got <= high:
                raise Mismatch(f"deployment {deployment} answered {got} calls, expected {low}..={high} ({counts})")
    if step.get("sticky_by_user"):
        seen: Dict[Optional[str], str] = {}
        for r in results:
            if r.error is None and r.meta is not None:
                first = seen.setdefault(r.user, r.meta["deployment"])
                if first != r.meta["deployment"]:
                    raise Mismatch(f"user {r.user!r} was answered by {first} and {r.meta['deployment']}")
    if "total_cost_max_usd" in step:
        total = sum(r.meta["cost_usd"] for r in results if r.meta is not None and r.error is None)
        if total > step["total_cost_max_usd"] + 1e-12:
            raise Mismatch(f"successful calls cost {total} USD in all, more than {step['total_cost_max_usd']}")


def contains(expected: Any, actual: Any, at: str) -> None:
    if isinstance(expected, dict) and isinstance(actual, dict):
        for key, value in expected.items():
            if key not in actual:
                raise Mismatch(f"{at}.{key} is missing in {actual}")
            contains(value, actual[key], f"{at}.{key}")
        return
    if isinstance(expected, list) and isinstance(actual, list) and len(expected) == len(actual):
        for i, (e, a) in enumerate(zip(expected, actual)):
            contains(e, a, f"{at}[{i}]")
        return
    if expected != actual or type(expected) is bool and type(actual) is not bool:
        raise Mismatch(f"{at}: expected {expected!r}, got {actual!r}")


def pick(items: List[Any], index: int, what: str) -> Any:
    position = len(items) + index if index < 0 else index
    if not 0 <= position < len(items):
        raise Mismatch(f"no {what} {index} (of {len(items)})")
    return items[position]


def check_usage_event(check: Dict[str, Any], events: List[Dict[str, Any]]) -> None:
    index = check.get("index", 0)
    event = pick(events, index, "usage event")
    at = f"usage event {index}"
    if "model" in check:
        same(f"{at} model", check["model"], event.get("model"))
    if "status" in check:
        status = event.get("status")
        actual = status if isinstance(status, str) else ((status or {}).get("error") or {}).get("code")
        same(f"{at} status", check["status"], actual)
    for flag in ("cache_hit", "local"):
        if flag in check:
            same(f"{at} {flag}", check[flag], event.get(flag))
    content = event.get("content")
    if check.get("content_absent") and content is not None:
        raise Mismatch(f"{at} should carry no content: {event}")
    if "content" in check:
        if content is None:
            raise Mismatch(f"{at} carries no content: {event}")
        contains(check["content"], content, f"{at} content")
    if "content_max_bytes" in check:
        if content is None:
            raise Mismatch(f"{at} carries no content: {event}")
        size = len(json.dumps(content, separators=(",", ":"), ensure_ascii=False).encode())
        if size > check["content_max_bytes"]:
            raise Mismatch(f"{at} content is {size} bytes, above {check['content_max_bytes']}")


def check_final(
    expect: Dict[str, Any],
    counters: Dict[str, Any],
    requests: List[Dict[str, Any]],
    usage: List[Dict[str, Any]],
) -> None:
    if "upstream_calls" in expect:
        same("upstream calls", expect["upstream_calls"], counters.get("total", 0))
    for model, calls in (expect.get("upstream_calls_by_model") or {}).items():
        same(f"upstream calls to {model}", calls, (counters.get("models") or {}).get(model, 0))
    events = [event for batch in usage for event in batch["events"]]
    for check in expect.get("usage_events") or []:
        check_usage_event(check, events)
    for text in expect.get("usage_text_absent") or []:
        for batch in usage:
            if text in batch["raw"]:
                raise Mismatch(f"{text!r} was shipped: {batch['raw']}")
    for check in expect.get("requests") or []:
        recorded = pick(requests, check.get("index", 0), "recorded request")
        if "path" in check:
            same("request path", check["path"], recorded["path"])
        for name, value in (check.get("headers") or {}).items():
            same(f"request header {name}", value, recorded["headers"].get(name))
        for name in check.get("headers_absent") or []:
            if name in recorded["headers"]:
                raise Mismatch(f"request header {name} should be absent")
        if "body" in check:
            contains(check["body"], recorded["body"], "body")
        for name in check.get("body_absent") or []:
            if isinstance(recorded["body"], dict) and name in recorded["body"]:
                raise Mismatch(f"request body field {name} should be absent")


# ---------------------------------------------------------------- blocking runner


class SyncRunner:
    def __init__(self, client: Switchyard, base: str) -> None:
        self.client = client
        self.base = base

    def step(self, step: Dict[str, Any]) -> None:
        if step.get("delay_ms"):
            time.sleep(step["delay_ms"] / 1000.0)
        op = step["op"]
        if op == "sleep":
            time.sleep(step.get("ms", 0) / 1000.0)
        elif op == "parallel":
            subs = step.get("steps") or []
            with ThreadPoolExecutor(max_workers=max(1, len(subs))) as pool:
                for future in [pool.submit(self.step, s) for s in subs]:
                    future.result()
        elif op == "flush":
            self.client.flush()
        elif op == "reload":
            result = CallResult()
            try:
                self.client.reload(substitute(step["config"], self.base))
            except SwitchyardError as exc:
                result.error = exc
            check_call(step.get("expect"), result)
        elif op in ("chat", "stream", "embed", "models"):
            results: List[CallResult] = []
            n = step.get("concurrent", 1)
            for r in range(step.get("repeat", 1)):
                if n == 1:
                    results.append(self.call(step, r * n, 0))
                else:
                    with ThreadPoolExecutor(max_workers=n) as pool:
                        results.extend(pool.map(lambda c: self.call(step, r * n + c, c), range(n)))
            check_batch(step, results)
        else:
            raise Mismatch(f"unknown op {op!r}")

    def call(self, step: Dict[str, Any], i: int = 0, c: int = 0) -> CallResult:
        started = time.perf_counter()
        kwargs = call_kwargs(step, i, c) if step["op"] != "models" else {}
        try:
            result = self._call(step, kwargs)
        except SwitchyardError as exc:
            result = CallResult(error=exc)
        result.elapsed_ms = (time.perf_counter() - started) * 1000.0
        result.user = kwargs.get("end_user")
        return result

    def _call(self, step: Dict[str, Any], kwargs: Dict[str, Any]) -> CallResult:
        op = step["op"]
        if op == "models":
            return CallResult(models=[m.id for m in self.client.models.list()])
        if op == "chat":
            return chat_result(self.client.chat.completions.create(**kwargs))
        if op == "embed":
            return embed_result(self.client.embeddings.create(**kwargs))
        abandon = (step.get("options") or {}).get("abandon_after_chunks")
        result = CallResult()
        stream = self.client.chat.completions.create(stream=True, **kwargs)
        assembler = Assembler()
        try:
            for chunk in stream:
                if is_restart(chunk):
                    result.restarted = True
                    assembler = Assembler()
                    continue
                result.chunks += 1
                assembler.push(chunk)
                if abandon is not None and result.chunks == abandon:
                    break
        except SwitchyardError as exc:
            result.error = exc
        stream.close()
        result.meta = stream.switchyard.to_dict()
        assembler.into(result)
        return result


# ---------------------------------------------------------------- asyncio runner


class AsyncRunner:
    def __init__(self, client: AsyncSwitchyard, base: str) -> None:
        self.client = client
        self.base = base

    async def step(self, step: Dict[str, Any]) -> None:
        if step.get("delay_ms"):
            await asyncio.sleep(step["delay_ms"] / 1000.0)
        op = step["op"]
        if op == "sleep":
            await asyncio.sleep(step.get("ms", 0) / 1000.0)
        elif op == "parallel":
            await asyncio.gather(*(self.step(s) for s in step.get("steps") or []))
        elif op == "flush":
            await self.client.flush()
        elif op == "reload":
            result = CallResult()
            try:
                self.client.reload(substitute(step["config"], self.base))
            except SwitchyardError as exc:
                result.error = exc
            check_call(step.get("expect"), result)
        elif op in ("chat", "stream", "embed", "models"):
            results: List[CallResult] = []
            n = step.get("concurrent", 1)
            for r in range(step.get("repeat", 1)):
                results.extend(await asyncio.gather(*(self.call(step, r * n + c, c) for c in range(n))))
            check_batch(step, results)
        else:
            raise Mismatch(f"unknown op {op!r}")

    async def call(self, step: Dict[str, Any], i: int = 0, c: int = 0) -> CallResult:
        started = time.perf_counter()
        kwargs = call_kwargs(step, i, c) if step["op"] != "models" else {}
        try:
            result = await self._call(step, kwargs)
        except SwitchyardError as exc:
            result = CallResult(error=exc)
        result.elapsed_ms = (time.perf_counter() - started) * 1000.0
        result.user = kwargs.get("end_user")
        return result

    async def _call(self, step: Dict[str, Any], kwargs: Dict[str, Any]) -> CallResult:
        op = step["op"]
        if op == "models":
            return CallResult(models=[m.id for m in await self.client.models.list()])
        if op == "chat":
            return chat_result(await self.client.chat.completions.create(**kwargs))
        if op == "embed":
            return embed_result(await self.client.embeddings.create(**kwargs))
        abandon = (step.get("options") or {}).get("abandon_after_chunks")
        result = CallResult()
        stream = await self.client.chat.completions.create(stream=True, **kwargs)
        assembler = Assembler()
        try:
            async for chunk in stream:
                if is_restart(chunk):
                    result.restarted = True
                    assembler = Assembler()
                    continue
                result.chunks += 1
                assembler.push(chunk)
                if abandon is not None and result.chunks == abandon:
                    break
        except SwitchyardError as exc:
            result.error = exc
        await stream.aclose()
        result.meta = stream.switchyard.to_dict()
        assembler.into(result)
        return result


def run_scenario(mock: Mock, text: str, mode: str) -> None:
    scenario = switchyard._native.parse_yaml(text)
    try:
        session = mock.session(scenario.get("mock") or {})
        config = substitute(scenario["config"], session.url)
        steps = scenario.get("steps") or []
        if mode == "sync":
            with Switchyard(config=config) as client:
                runner = SyncRunner(client, session.url)
                for i, step in enumerate(steps):
                    try:
                        runner.step(step)
                    except Mismatch as exc:
                        raise Mismatch(f"step {i} ({step['op']}): {exc}") from None
        else:

            async def main() -> None:
                async with AsyncSwitchyard(config=config) as client:
                    runner = AsyncRunner(client, session.url)
                    for i, step in enumerate(steps):
                        try:
                            await runner.step(step)
                        except Mismatch as exc:
                            raise Mismatch(f"step {i} ({step['op']}): {exc}") from None

            asyncio.run(main())
        if scenario.get("expect"):
            check_final(scenario["expect"], session.counters(), session.requests(), session.usage())
    except Mismatch as exc:
        raise Mismatch(f"{exc}\n  scenario: {scenario.get('description')}") from None
