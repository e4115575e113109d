"""The self-improvement loop (``selfimprove train``): see :mod:`selfimprove.train.loop`.

Kept import-free so that :mod:`selfimprove.config` can import the ``train`` schema cheaply.
"""
