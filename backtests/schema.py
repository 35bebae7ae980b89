"""
Checks a YAML mapping against a typed config class and builds it, with one clear message per error.

The typed classes are msgspec structs (nautilus configs are msgspec structs too), whose annotations
carry the types and `msgspec.Meta` bounds and descriptions. The same annotations document the config
in the README, so there is one source of truth for what a key means and which values it accepts.
"""

from __future__ import annotations

import datetime as dt
import difflib
import types
import typing
from collections.abc import Mapping
from typing import Any

import msgspec


class ConfigError(Exception):
    """A config problem, worded for the user: which key, what is wrong, how to fix it."""


def key_error(source: str, key: str, problem: str, fix: str) -> ConfigError:
    return ConfigError(f"{source}: `{key}` {problem}. Fix: {fix}.")


def build(
    cls: type[msgspec.Struct],
    data: Any,
    *,
    source: str,
    path: str,
    only: frozenset[str] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> Any:
    """
    Validate `data` (a YAML mapping) against `cls` and return an instance.

    `only` restricts the keys a user may set (a strategy config also has wiring fields that the
    YAML must not touch); `extra` adds values that do not come from the YAML.
    """
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise key_error(
            source,
            path,
            f"must be a mapping, got {_describe(data)}",
            "write it as `key: value` lines",
        )
    hints = typing.get_type_hints(cls, include_extras=True)
    allowed = [name for name in cls.__struct_fields__ if only is None or name in only]
    for key in data:
        if key not in allowed:
            raise _unknown_key(source, _join(path, str(key)), str(key), allowed)

    defaults = _defaults(cls)
    values: dict[str, Any] = dict(extra or {})
    for name in allowed:
        key = _join(path, name)
        if name in data:
            values[name] = _check(hints[name], data[name], source=source, key=key)
        elif name not in defaults:
            raise key_error(
                source, key, "is required", f"add `{name}:` under `{path or 'the top level'}`"
            )
    return cls(**values)


def describe_fields(
    cls: type[msgspec.Struct], only: frozenset[str] | None = None
) -> list[tuple[str, str, str, str]]:
    """(name, type, default, description) rows for documentation."""
    hints = typing.get_type_hints(cls, include_extras=True)
    defaults = _defaults(cls)
    rows = []
    for name in cls.__struct_fields__:
        if only is not None and name not in only:
            continue
        annotation, meta = _unwrap(hints[name])
        default = defaults.get(name, "required")
        rows.append(
            (name, _type_name(annotation, meta), str(default), (meta or {}).get("description", ""))
        )
    return rows


def _check(annotation: Any, value: Any, *, source: str, key: str) -> Any:
    annotation, meta = _unwrap(annotation)
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(annotation) if a is not type(None)]
        if value is None:
            if len(options) < len(typing.get_args(annotation)):
                return None
            raise key_error(source, key, "cannot be empty", "give it a value")
        errors = []
        for option in options:
            try:
                checked = _check(option, value, source=source, key=key)
            except ConfigError as error:
                errors.append(error)
                continue
            # Bounds on `Annotated[float | None, Meta(gt=0)]` belong to the whole union.
            _bounds(checked, meta or {}, source=source, key=key)
            return checked
        raise errors[0]
    if origin is typing.Literal:
        choices = typing.get_args(annotation)
        if value not in choices:
            listed = ", ".join(str(c) for c in choices)
            raise key_error(
                source, key, f"is {value!r}, which is not one of: {listed}", f"use one of {listed}"
            )
        return value
    if isinstance(annotation, type) and issubclass(annotation, msgspec.Struct):
        return build(annotation, value, source=source, path=key)
    if origin is dict:
        if not isinstance(value, Mapping):
            raise key_error(
                source,
                key,
                f"must be a mapping, got {_describe(value)}",
                "write it as `name: value` lines",
            )
        _, value_type = typing.get_args(annotation)
        return {
            str(k): _check(value_type, v, source=source, key=f"{key}.{k}") for k, v in value.items()
        }
    checked = _scalar(annotation, value, source=source, key=key)
    _bounds(checked, meta or {}, source=source, key=key)
    return checked


def _scalar(annotation: Any, value: Any, *, source: str, key: str) -> Any:
    expected = getattr(annotation, "__name__", str(annotation))
    if annotation is bool:
        if isinstance(value, bool):
            return value
    elif annotation is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif annotation is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    elif annotation is str:
        if isinstance(value, dt.date):
            # YAML turns unquoted timestamps into datetime objects; keep them as ISO text.
            return value.isoformat()
        if isinstance(value, str) and value.strip():
            return value
        if isinstance(value, str):
            raise key_error(source, key, "is empty", "give it a value")
    else:
        return msgspec.convert(value, annotation)
    example = {
        "bool": "true or false",
        "int": "a whole number",
        "float": "a number",
        "str": "a text value",
    }
    raise key_error(
        source,
        key,
        f"must be {example.get(expected, expected)}, got {_describe(value)}",
        f"set `{key}` to {example.get(expected, expected)}",
    )


def _bounds(value: Any, meta: dict[str, Any], *, source: str, key: str) -> None:
    checks = (
        ("ge", lambda v, b: v >= b, ">="),
        ("gt", lambda v, b: v > b, ">"),
        ("le", lambda v, b: v <= b, "<="),
        ("lt", lambda v, b: v < b, "<"),
    )
    for name, ok, symbol in checks:
        bound = meta.get(name)
        if bound is not None and not ok(value, bound):
            what = (
                "cannot be negative"
                if name in ("ge", "gt") and bound == 0
                else f"must be {symbol} {bound}"
            )
            raise key_error(
                source,
                key,
                f"is {value}, which is invalid: it {what}",
                f"set `{key}` to a value {symbol} {bound}",
            )


def _unwrap(annotation: Any) -> tuple[Any, dict[str, Any] | None]:
    if typing.get_origin(annotation) is typing.Annotated:
        base, *extras = typing.get_args(annotation)
        meta: dict[str, Any] = {}
        for extra in extras:
            if isinstance(extra, msgspec.Meta):
                for attr in ("ge", "gt", "le", "lt", "description"):
                    if getattr(extra, attr) is not None:
                        meta[attr] = getattr(extra, attr)
        return base, meta
    return annotation, None


def _defaults(cls: type[msgspec.Struct]) -> dict[str, Any]:
    defaults = {}
    for field in msgspec.structs.fields(cls):
        if field.default is not msgspec.NODEFAULT:
            defaults[field.name] = field.default
        elif field.default_factory is not msgspec.NODEFAULT:
            defaults[field.name] = field.default_factory()
    return defaults


def _type_name(annotation: Any, meta: dict[str, Any] | None) -> str:
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        name = " | ".join(str(c) for c in typing.get_args(annotation))
    elif origin in (typing.Union, types.UnionType):
        name = " | ".join(
            _type_name(*_unwrap(a)) for a in typing.get_args(annotation) if a is not type(None)
        )
        name += " (optional)"
    else:
        name = getattr(annotation, "__name__", str(annotation))
    bounds = [
        f"{s} {meta[k]}"
        for k, s in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<"))
        if meta and k in meta
    ]
    return f"{name} {', '.join(bounds)}".strip()


def _unknown_key(source: str, key: str, name: str, allowed: list[str]) -> ConfigError:
    close = difflib.get_close_matches(name, allowed, n=1)
    fix = (
        f"did you mean `{close[0]}`?"
        if close
        else f"remove it; known keys here: {', '.join(allowed)}"
    )
    return key_error(source, key, "is not a known key", fix)


def _describe(value: Any) -> str:
    return f"{type(value).__name__} {value!r}"


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name
