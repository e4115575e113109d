"""Programmatic verifiers: the contract, the registry, and the built-in graders.

See :mod:`verifiers.base` for the contract and :mod:`verifiers.registry` for naming.

The import name ``verifiers`` is also that of the PyPI distribution ``verifiers`` (RL
environments, used with prime-rl). Both install a top-level ``verifiers`` package, so with both
installed one silently replaces the other; we refuse to import then, naming both.
"""

import importlib.metadata


def _refuse_to_shadow_the_pypi_verifiers() -> None:
    try:
        other = importlib.metadata.distribution("verifiers")
    except importlib.metadata.PackageNotFoundError:
        return
    raise ImportError(
        f"two packages named 'verifiers' are installed: selfimprove's verifiers (this one, from the "
        f"'selfimprove' distribution) and the PyPI distribution 'verifiers' {other.version} (RL environments), "
        "which install the same import name. Use separate virtual environments, or `pip uninstall verifiers` "
        "in this one (then reinstall selfimprove)."
    )


_refuse_to_shadow_the_pypi_verifiers()

from verifiers.base import CONTRACT_VERSION, Status, Verification, Verifier
from verifiers.registry import available, build_verifier

__all__ = ["CONTRACT_VERSION", "Status", "Verification", "Verifier", "available", "build_verifier"]
