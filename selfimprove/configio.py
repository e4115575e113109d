"""Load YAML into typed dataclasses, loudly.

Generic machinery only; the schema itself lives in :mod:`selfimprove.config`.
Every field's help text is its ``metadata["help"]`` (fields are declared with
:func:`rollouts.fields.field`). Unknown keys and wrong types are
collected and reported together, each naming the dotted key, the file, and the fix.
"""

from __future__ import annotations

import dataclasses
import re
import types
from pathlib import Path
from typing import Any, Literal, TypeVar, Union, get_args, get_origin, get_type_hints

import yaml

from selfimprove import atomic
from verifiers.suggest import closest, did_you_mean

T = TypeVar("T")
#: A number in exponent notation, e.g. 3e-5 or 1.5E+3: what PyYAML leaves as a string when it lacks a dot.
_EXPONENT_FLOAT = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)[eE][+-]?\d+")


class ConfigError(ValueError):
    """A config that cannot be loaded; ``str()`` is one line per problem."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


def _type_name(tp: Any) -> str:
    origin = get_origin(tp)
    if origin is Literal:
        return " | ".join(repr(a) for a in get_args(tp))
    if origin in (Union, types.UnionType):
        return " | ".join(_type_name(a) for a in get_args(tp))
    if origin is not None:
        return f"{origin.__name__}[{', '.join(_type_name(a) for a in get_args(tp))}]"
    return "null" if tp is type(None) else getattr(tp, "__name__", str(tp))


def _convert(value: Any, tp: Any, key: str, problems: list[str], moved: dict[str, str]) -> Any:
    """Check ``value`` against the annotation ``tp``; return it converted (or None on error)."""
    origin = get_origin(tp)
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            problems.append(f"'{key}' must be a mapping of {sorted(f.name for f in dataclasses.fields(tp))}, got {value!r}")
            return None
        return _build(tp, value, key + ".", problems, moved)
    if tp is Any:
        return value
    if origin is Literal:
        if value not in get_args(tp):
            hint = did_you_mean(str(value), [str(a) for a in get_args(tp)])
            problems.append(f"'{key}' must be one of {_type_name(tp)}, got {value!r}{hint}")
        return value
    if origin in (Union, types.UnionType):
        args = get_args(tp)
        if value is None and type(None) in args:
            return None
        for arg in args:
            if arg is type(None):
                continue
            trial: list[str] = []
            out = _convert(value, arg, key, trial, moved)
            if not trial:
                return out
        problems.append(f"'{key}' must be {_type_name(tp)}, got {value!r}")
        return None
    if origin is list:
        if not isinstance(value, list):
            problems.append(f"'{key}' must be a list, got {value!r}")
            return None
        (item_tp,) = get_args(tp)
        return [_convert(v, item_tp, f"{key}[{i}]", problems, moved) for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            problems.append(f"'{key}' must be a mapping, got {value!r}")
            return None
        _, val_tp = get_args(tp)
        return {str(k): _convert(v, val_tp, f"{key}.{k}", problems, moved) for k, v in value.items()}
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if tp is float and isinstance(value, str) and _EXPONENT_FLOAT.fullmatch(value.strip()):
        return float(value)  # YAML 1.1 (PyYAML) reads 3e-5, without a dot, as a string
    if tp in (int, float) and isinstance(value, bool) or not isinstance(value, tp):
        # YAML 1.1 reads on/off/yes/no as booleans: a word meant for a str option arrives as one.
        hint = "; YAML reads on/off/yes/no as true/false, so quote the word" if tp is str and isinstance(value, bool) else ""
        problems.append(f"'{key}' must be {_type_name(tp)}, got {value!r} ({type(value).__name__}){hint}")
        return None
    return value


def _build(cls: type[T], data: dict[str, Any], prefix: str, problems: list[str], moved: dict[str, str]) -> T:
    hints = get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        if key not in names and f"{prefix}{key}" in moved:
            new = moved[f"{prefix}{key}"]
            problems.append(f"'{prefix}{key}' has moved to '{new}'"
                            + (" (its keys keep their names)" if isinstance(value, dict) else "")
                            + "; rename it in the config or --set")
            continue
        if key not in names:
            close = closest(str(key), names, cutoff=0.5)
            hint = f"; did you mean '{prefix}{close}'?" if close else f"; valid keys: {', '.join(names)}"
            problems.append(f"unknown key '{prefix}{key}'{hint}")
            continue
        kwargs[key] = _convert(value, hints[key], prefix + key, problems, moved)
    if problems:
        return None  # type: ignore[return-value]
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:  # __post_init__ validation
        problems.append(f"'{prefix.rstrip('.') or cls.__name__}': {exc}")
        return None  # type: ignore[return-value]


def parse_override(text: str) -> tuple[list[str], Any]:
    """``"sampling.temperature=0.5"`` -> (["sampling", "temperature"], 0.5). Values are YAML."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError([f"override {text!r} must look like section.key=value"])
    return key.strip().split("."), yaml.safe_load(raw) if raw.strip() else ""


def apply_overrides(data: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    for text in overrides:
        path, value = parse_override(text)
        node = data
        for part in path[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError([f"override {text!r}: '{part}' is not a section"])
        node[path[-1]] = value
    return data


def load(cls: type[T], path: str | Path | None, overrides: list[str] = (), *, moved: dict[str, str] | None = None) -> T:
    """Load ``path`` (YAML; None for defaults only) plus ``key=value`` overrides into ``cls``.

    ``moved`` maps old dotted keys to their new place: using one is an error naming the new key.
    """
    source = str(path) if path else "<defaults>"
    data: dict[str, Any] = {}
    if path is not None:
        try:
            text = Path(path).read_text()
        except OSError as exc:
            raise ConfigError([f"{source}: cannot read config ({exc.strerror})"]) from None
        try:
            data = yaml.safe_load(text) or {}
        except yaml.YAMLError as exc:
            raise ConfigError([f"{source}: invalid YAML: {exc}".replace("\n", " ")]) from None
        if not isinstance(data, dict):
            raise ConfigError([f"{source}: the top level must be a mapping of sections"])
    data = apply_overrides(data, list(overrides))
    problems: list[str] = []
    config = _build(cls, data, "", problems, moved or {})
    if problems:
        raise ConfigError([f"config error in {source}: {p}" for p in problems])
    return config


def to_dict(config: Any) -> dict[str, Any]:
    return dataclasses.asdict(config)


def dump(config: Any, path: str | Path) -> None:
    atomic.write_text(path, yaml.safe_dump(to_dict(config), sort_keys=False))


def describe(cls: type, prefix: str = "") -> list[tuple[str, str, Any, str]]:
    """(dotted key, type, default, help) for every leaf field: the config reference."""
    rows = []
    hints = get_type_hints(cls)
    for f in dataclasses.fields(cls):
        tp = hints[f.name]
        if dataclasses.is_dataclass(tp):
            rows += describe(tp, f"{prefix}{f.name}.")
            continue
        default = f.default if f.default is not dataclasses.MISSING else (
            f.default_factory() if f.default_factory is not dataclasses.MISSING else None)  # type: ignore[misc]
        rows.append((prefix + f.name, _type_name(tp), default, f.metadata.get("help", "")))
    return rows



def reference_markdown(cls: type) -> str:
    """The config reference as a Markdown table (docs/pages/config-reference.md embeds it;
    tests/selfimprove/test_docs.py keeps them equal)."""
    lines = ["| key | type | default | meaning |", "|---|---|---|---|"]
    for key, tp, default, help_text in describe(cls):
        cell = lambda s: str(s).replace("|", "\\|").replace("\n", " ")  # noqa: E731
        lines.append(f"| `{key}` | {cell(tp)} | `{cell(repr(default))}` | {cell(help_text)} |")
    return "\n".join(lines) + "\n"
