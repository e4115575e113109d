"""Math answer verification with sympy; see :class:`MathVerifier`.

Modules: ``extract`` (find the final answer), ``normalize`` / ``scan`` / ``parse`` (text to
:mod:`.nodes`, single values through ``latex2sympy2_extended``), ``numbers`` (exact values of
written numbers), ``units`` (numbers with units or words), ``compare`` (the equivalence policy)
with ``numeric`` (when two values are equal), ``choice`` (multiple-choice letters), ``guard``
(size limits), ``verifier`` (the verifier object).
"""

from verifiers.math.verifier import MathVerifier, reference_answer

__all__ = ["MathVerifier", "reference_answer"]
