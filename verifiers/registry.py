"""Find verifiers by name.

Three ways to name a verifier, tried in this order:

1. A built-in name from ``BUILTIN`` below (``math``, ``code``, ...).
2. A name registered by an installed package under the entry-point group
   ``selfimprove.verifiers``, e.g. in the plug-in's ``pyproject.toml``::

       [project.entry-points."selfimprove.verifiers"]
       my_checker = "my_pkg.checker:build"

3. A ``module:callable`` path, e.g. ``my_pkg.checker:build``.

Each name resolves to a *factory*: a callable taking the verifier's options as keyword
arguments (``verifier.options`` in the config) and returning a verifier
(see :mod:`verifiers.base`). A plain verify function also works as a factory when it takes
no options: :func:`build_verifier` detects that case by signature.

To add a built-in verifier: write a module with a factory and add one line to ``BUILTIN``.
"""

from __future__ import annotations

import importlib
import inspect
from importlib.metadata import entry_points
from typing import Any, Callable

from verifiers.base import Verifier
from verifiers.suggest import closest

ENTRY_POINT_GROUP = "selfimprove.verifiers"

# name -> "module:factory". Strings, so importing the registry imports no verifier.
BUILTIN: dict[str, str] = {
    "math": "verifiers.math:MathVerifier",
    "code": "verifiers.code:CodeVerifier",
    "exact": "verifiers.simple:ExactMatchVerifier",
    "format": "verifiers.simple:BoxedFormatVerifier",
    "strict": "verifiers.strict:build",
}


class UnknownVerifierError(LookupError):
    """Raised for a name that is neither built-in, registered, nor importable."""


def _plugin_entry_points() -> dict[str, Any]:
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def available() -> list[str]:
    """All names :func:`build_verifier` accepts (besides ``module:callable`` paths)."""
    return sorted(set(BUILTIN) | set(_plugin_entry_points()))


def _import_path(path: str) -> Callable[..., Any]:
    module_name, _, attr = path.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise UnknownVerifierError(
            f"verifier '{path}': cannot import module '{module_name}' ({exc}); "
            f"install the package that provides it or fix the name"
        ) from exc
    try:
        return getattr(module, attr)
    except AttributeError:
        raise UnknownVerifierError(
            f"verifier '{path}': module '{module_name}' has no attribute '{attr}'"
        ) from None


def resolve(name: str) -> Callable[..., Any]:
    """Return the factory behind ``name`` (see module docstring for the lookup order)."""
    if name in BUILTIN:
        return _import_path(BUILTIN[name])
    plugins = _plugin_entry_points()
    if name in plugins:
        return plugins[name].load()
    if ":" in name:
        return _import_path(name)
    names = available()
    close = closest(name, names)
    hint = f" Did you mean '{close}'?" if close else ""
    raise UnknownVerifierError(
        f"unknown verifier '{name}'.{hint} Available: {', '.join(names)}; "
        f"or give a 'module:callable' path, or install a package that registers one under "
        f"the entry-point group '{ENTRY_POINT_GROUP}'."
    )


def _is_verify_function(obj: Any) -> bool:
    """True if ``obj`` looks like ``verify(completion, reference, ...)`` rather than a factory."""
    if inspect.isclass(obj):
        return False
    try:
        params = list(inspect.signature(obj).parameters)
    except (TypeError, ValueError):
        return False
    return params[:2] == ["completion", "reference"]


def build_verifier(name: str, **options: Any) -> Verifier:
    """Build the verifier called ``name`` with ``options``.

    Raises:
        UnknownVerifierError: the name resolves to nothing.
        TypeError: the options do not fit the factory's signature.
    """
    factory = resolve(name)
    if _is_verify_function(factory):
        if options:
            raise TypeError(f"verifier '{name}' is a plain function and takes no options, got {sorted(options)}")
        verifier = factory
    else:
        try:
            verifier = factory(**options)
        except TypeError as exc:
            raise TypeError(f"verifier '{name}': bad options {sorted(options)}: {exc}") from exc
    if not callable(verifier):
        raise TypeError(f"verifier '{name}' built a non-callable {type(verifier).__name__}")
    return verifier


def verifier_identity(verifier: Any, name: str) -> str:
    """``name@version`` recorded with every trace as provenance."""
    version = getattr(verifier, "version", None)
    return f"{name}@{version}" if version else name
