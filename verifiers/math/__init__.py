"""Math answer verification with sympy; see :class:`MathVerifier`.

Modules: ``extract`` (find the final answer), ``hedge`` (several final answers: hedges and
revisions), ``normalize`` / ``scan`` / ``parse`` (text to :mod:`.nodes`, single values through
``latex2sympy2_extended``), ``words`` (prose, labels, "no solution" answers), ``numbers`` (exact
values of written numbers, base subscripts), ``units`` (numbers with units or words),
``dimensions`` (unit conversion), ``compare`` (the equivalence policy) with ``equations``
(equations and named values) and ``numeric`` (when two values are equal), ``choice``
(multiple-choice letters), ``guard`` (size limits), ``verifier`` (the verifier object).
"""

from verifiers.math.verifier import MathVerifier, reference_answer

__all__ = ["MathVerifier", "reference_answer"]
