"""What the sync and async clients share: constructor checks and keyword splitting."""

from __future__ import annotations

import os
from typing import Any, Dict, List, Mapping, Optional, Union

from ._errors import ConfigError, NotSupportedError

ConfigInput = Union[str, "os.PathLike[str]", Mapping[str, Any]]


def config_arg(
    config: Optional[ConfigInput], server: Optional[str], api_key: Optional[str]
) -> Union[str, Mapping[str, Any]]:
    if server is not None or api_key is not None:
        raise NotSupportedError(
            "server=/api_key= need the Switchyard management server, which this release does "
            "not have yet: pass config= (a YAML/JSON file path or a dict) instead",
            code="not_supported",
        )
    if config is None:
        config = os.environ.get("SWITCHYARD_CONFIG")
        if not config:
            raise ConfigError(
                "no config given: pass config= (a file path or a dict) or set SWITCHYARD_CONFIG",
                code="config",
            )
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
    if (
        timeout is None
        and end_user is None
        and tags is None
        and metadata is None
        and tenant is None
        and app is None
        and session is None
        and cache is None
        and deployment is None
    ):
        return None
    out: Dict[str, Any] = {}
    if timeout is not None:
        out["timeout"] = timeout
    if end_user is not None:
        out["user"] = end_user
    if tags is not None:
        out["tags"] = tags
    if metadata is not None:
        out["metadata"] = metadata
    if tenant is not None:
        out["tenant"] = tenant
    if app is not None:
        out["app"] = app
    if session is not None:
        out["session"] = session
    if cache is not None:
        out["cache"] = cache
    if deployment is not None:
        out["deployment"] = deployment
    return out


def body(
    base: Dict[str, Any], extra_body: Optional[Mapping[str, Any]], rest: Dict[str, Any]
) -> Dict[str, Any]:
    if rest:
        base.update(rest)
    if extra_body:
        base.update(extra_body)
    return base
