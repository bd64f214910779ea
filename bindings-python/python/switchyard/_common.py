"""What the sync and async clients share: the constructor, the calls that do not wait,
and keyword splitting. The engine resolves the config source (arguments, then the
environment) and checks every option; this layer only maps Python keywords to names."""

from __future__ import annotations

import copy
import os
from typing import Any, Dict, List, Mapping, Optional, TypeVar, Union

from . import _native

ConfigInput = Union[str, "os.PathLike[str]", Mapping[str, Any]]
Client = TypeVar("Client", bound="ClientBase")


class ClientBase:
    """The engine behind :class:`Switchyard` and :class:`AsyncSwitchyard`: built from a
    config (path or dict) or from the management server (``server=`` and ``api_key=``).

    Each subclass names its resource classes (sync or async) in ``_resources``."""

    _resources: Dict[str, type] = {}

    def __init__(
        self,
        *,
        config: Optional[ConfigInput] = None,
        server: Optional[str] = None,
        api_key: Optional[str] = None,
        watch: Optional[float] = None,
        config_cache: Optional[Union[str, "os.PathLike[str]"]] = None,
        otlp_endpoint: Optional[str] = None,
        service_name: Optional[str] = None,
        timeout: Optional[float] = None,
        max_retries: Optional[int] = None,
    ) -> None:
        self._native = _native.NativeClient(
            {
                "config": None if config is None else config_arg(config),
                "server": server,
                "api_key": api_key,
                "watch": watch,
                "config_cache": config_cache,
                "otlp_endpoint": otlp_endpoint,
                "service_name": service_name,
            }
        )
        self._defaults = defaults(timeout, max_retries)
        self._bind()

    def _bind(self) -> None:
        for name, resource in self._resources.items():
            setattr(self, name, resource(self._native, self._defaults))

    def with_options(
        self: Client, *, timeout: Optional[float] = None, max_retries: Optional[int] = None
    ) -> Client:
        """A copy whose calls default to these options, as ``openai``'s ``with_options``:
        ``timeout`` in seconds for each whole call, ``max_retries`` a cap on the retries
        of each model the call reaches (``0``: one attempt per model; fallbacks still
        apply). The copy shares the engine: closing either closes both."""
        clone = copy.copy(self)
        clone._defaults = {**self._defaults, **defaults(timeout, max_retries)}
        clone._bind()
        return clone

    copy = with_options

    def metrics(self) -> Dict[str, Any]:
        """Calls, latencies, tokens, cost and errors so far, per model and deployment."""
        return self._native.metrics()

    def config(self) -> Dict[str, Any]:
        """The config in force (secrets redacted as the engine serializes them)."""
        return self._native.config()

    def reload(self, config: ConfigInput) -> None:
        """Swap in a new config (path or dict). Invalid -> ``ConfigError``, old one stays."""
        self._native.reload(config_arg(config))

    @property
    def closed(self) -> bool:
        return self._native.closed


def config_arg(config: ConfigInput) -> Any:
    """A config as the native layer reads it: a path or a dict (any mapping copied into one).
    Which sources may combine, and the environment's say, are the engine's to decide."""
    if isinstance(config, Mapping) and not isinstance(config, dict):
        return dict(config)
    return config


def defaults(timeout: Optional[float], max_retries: Optional[int]) -> Dict[str, Any]:
    """A client's default options (the constructor's or ``with_options``'s)."""
    named = {"timeout": timeout, "max_retries": max_retries}
    return {key: value for key, value in named.items() if value is not None}


def options(
    defaults: Dict[str, Any],
    timeout: Optional[float],
    end_user: Optional[str],
    tags: Optional[List[str]],
    metadata: Optional[Dict[str, str]],
    tenant: Optional[str],
    app: Optional[str],
    session: Optional[str],
    cache: Union[str, bool, None],
    deployment: Optional[str],
) -> Optional[Dict[str, Any]]:
    """The per-call options as the native layer reads them, over the client's defaults
    (None when all are unset)."""
    named = {
        "timeout": timeout,
        "user": end_user,
        "tags": tags,
        "metadata": metadata,
        "tenant": tenant,
        "app": app,
        "session": session,
        "cache": cache,
        "deployment": deployment,
    }
    out = dict(defaults)
    out.update((key, value) for key, value in named.items() if value is not None)
    return out or None


def body(
    base: Dict[str, Any], extra_body: Optional[Mapping[str, Any]], rest: Dict[str, Any]
) -> Dict[str, Any]:
    if rest:
        base.update(rest)
    if extra_body:
        base.update(extra_body)
    return base
