"""Programmatic verifiers: the contract, the registry, and the built-in graders.

See :mod:`verifiers.base` for the contract and :mod:`verifiers.registry` for naming.
"""

from verifiers.base import CONTRACT_VERSION, Status, Verification, Verifier
from verifiers.registry import available, build_verifier

__all__ = ["CONTRACT_VERSION", "Status", "Verification", "Verifier", "available", "build_verifier"]
