"""What the sync and async clients share: the constructor, the calls that do not wait,
and keyword splitting."""

from __future__ import annotations

import os
from typing import Any, Dict, List, Mapping, Optional, Union

from . import _native
from ._errors import ConfigError

ConfigInput = Union[str, "os.PathLike[str]", Mapping[str, Any]]


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
    ) -> None:
        self._native = _native.NativeClient(
            **source_args(config, server, api_key, watch, config_cache)
        )
        for name, resource in self._resources.items():
            setattr(self, name, resource(self._native))

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


def source_args(
    config: Optional[ConfigInput],
    server: Optional[str],
    api_key: Optional[str],
    watch: Optional[float],
    config_cache: Optional[Union[str, "os.PathLike[str]"]],
) -> Dict[str, Any]:
    """The native client's constructor arguments: a config, or a server and its key.

    With neither given, ``SWITCHYARD_CONFIG`` names a config file, else ``SWITCHYARD_SERVER``
    and ``SWITCHYARD_API_KEY`` name the server.
    """
    if config is not None and (server is not None or api_key is not None):
        raise TypeError("pass config= or server=/api_key=, not both")
    if config is None and server is None and api_key is None:
        from_env = os.environ.get("SWITCHYARD_CONFIG")
        if from_env:
            config = from_env
        else:
            server = os.environ.get("SWITCHYARD_SERVER") or None
            api_key = os.environ.get("SWITCHYARD_API_KEY") or None
    if config is not None:
        return {"config": config_arg(config), "watch": watch}
    if server is None and api_key is None:
        raise ConfigError(
            "no config given: pass config= (a file path or a dict) or server= with api_key=, "
            "or set SWITCHYARD_CONFIG (or SWITCHYARD_SERVER and SWITCHYARD_API_KEY)",
            code="config",
        )
    if server is None or api_key is None:
        raise TypeError("server= and api_key= go together")
    if not isinstance(server, str) or not isinstance(api_key, str):
        raise TypeError("server and api_key must be str")
    return {
        "server": server,
        "api_key": api_key,
        "config_cache": None if config_cache is None else os.fspath(config_cache),
    }


def config_arg(config: ConfigInput) -> Union[str, Mapping[str, Any]]:
    """A config as the native layer reads it: a path string or a dict."""
    if isinstance(config, os.PathLike):
        return os.fspath(config)
    if isinstance(config, (str, Mapping)):
        return config if isinstance(config, (str, dict)) else dict(config)
    raise TypeError("config must be a file path or a mapping")


def options(
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
    """The per-call options as the native layer reads them (None when all are unset)."""
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
    out = {key: value for key, value in named.items() if value is not None}
    return out or None


def body(
    base: Dict[str, Any], extra_body: Optional[Mapping[str, Any]], rest: Dict[str, Any]
) -> Dict[str, Any]:
    if rest:
        base.update(rest)
    if extra_body:
        base.update(extra_body)
    return base
