"""selfimprove: make language models better reasoners from their own verified attempts."""

__version__ = "0.1.0"
