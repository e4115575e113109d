"""Code that runs *inside* the sandbox (and nothing else).

These modules are bind-mounted read-only into each bubblewrap jail and imported there as the
top-level package ``worker``, so they use only the standard library (plus ``pyseccomp`` in
:mod:`.confine`) and import each other relatively. The host imports the pure parts
(:mod:`.plan`, :mod:`.wire`, :mod:`.codec`) as ``verifiers.code.worker.*``.

Processes per execution (all forked from one long-lived worker, never from the trainer):

- the **solution** process (:mod:`.solution`): runs the untrusted program; in test mode it
  serves calls to the functions the program defined;
- the **harness** process (:mod:`.harness`): runs the tests, which reach the solution only
  through those calls, and alone writes the per-test verdicts.

The two run under different uids (where the jail allows) and talk over pipes, so nothing
the program does in its own process can write a verdict.
"""
