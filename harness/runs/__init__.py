"""Stage 5, results: the run folder and its guarantees, the runner (`harness run`), evaluation of a run folder
(`harness eval`), the sweep and its executors (local, Ray), generating images from a run, and the profiles.
"""
