"""Public path of the metric registry: `from harness.metrics import Output, register`.

Metrics live with the evaluator that computes them (harness.evaluate.metrics, feature spaces in
harness.evaluate.metrics.spaces); this module keeps the documented import path of the decorators.
"""

from harness.evaluate.metrics import Output, register
from harness.evaluate.metrics.spaces import register_space

__all__ = ["Output", "register", "register_space"]
