"""Toy verifiers a random tiny model satisfies now and then, so reward can visibly rise."""

from verifiers.base import Verification


def contains_reference(completion: str, reference: str) -> Verification:
    """Correct when the reference text occurs anywhere in the completion."""
    ok = str(reference) in completion
    return Verification.graded(ok, str(reference) if ok else None, "correct" if ok else "the answer is missing")


def starts_with_digit(completion: str, reference: str) -> Verification:
    """Correct when the completion's first visible character is a digit (~4% for a random byte model).

    One output position decides the reward, so a few rounds of rejection-sampling fine-tuning on a
    2-layer random model move it a lot: a toy with a clear, fast learning signal.
    """
    text = completion.lstrip()
    ok = bool(text) and text[0].isdigit()
    return Verification.graded(ok, text[:1] or None, "correct" if ok else "the answer must start with a digit")
