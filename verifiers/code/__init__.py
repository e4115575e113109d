"""Code verifier: runs untrusted Python against tests in a local sandbox.

- :class:`CodeVerifier` (registered as ``code``): grading, score and feedback.
- :class:`Sandbox`: the jailed worker pool; its docstring says what is and is not protected.
- :mod:`.isolation`: the isolation levels and how each is reached.
"""

from verifiers.code.sandbox import Sandbox, SandboxError, SandboxUnavailable
from verifiers.code.verifier import CodeVerifier

__all__ = ["CodeVerifier", "Sandbox", "SandboxError", "SandboxUnavailable"]
