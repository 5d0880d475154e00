"""Public path of the objective registry: `from harness.objectives import Objective, register_objective`.

Objectives live with the training step that calls them (harness.train.objectives); this module keeps the
documented import path.
"""

from harness.train.objectives import Objective, register_objective

__all__ = ["Objective", "register_objective"]
