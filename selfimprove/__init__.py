"""selfimprove: make language models better reasoners from their own verified attempts."""

__version__ = "0.1.0"


def _check_verifiers_is_ours() -> None:
    """Fail clearly when ``import verifiers`` would load another distribution's package.

    Our three import packages (selfimprove, rollouts, verifiers) are installed side by side; the
    PyPI distribution 'verifiers' uses the same import name and may come first on sys.path.
    """
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("verifiers")
    ours = Path(__file__).resolve().parent.parent / "verifiers" / "__init__.py"
    if spec is None or spec.origin is None or Path(spec.origin).resolve() != ours:
        found = spec.origin if spec is not None else "nothing"
        raise ImportError(
            f"selfimprove needs its own 'verifiers' package ({ours}), but `import verifiers` finds {found}: "
            "probably the PyPI distribution 'verifiers' (RL environments), which uses the same import name. "
            "Use separate virtual environments, or `pip uninstall verifiers` here and reinstall selfimprove."
        )


_check_verifiers_is_ours()
