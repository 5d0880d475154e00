"""Label fidelity: the share of generated class-c images the reference EuroSAT classifier calls c.

Where the rest go is recorded too: one `predicted_as` row per (generated
class, predicted class), the predicted class in the row's settings, which
together form the confusion matrix (the 2022 study saw Highway and River
contaminate each other). Cheap: recorded every eval.domain_every epochs.
"""

from __future__ import annotations

import numpy as np

from harness.data import eurosat
from harness.evaluate.metrics import Output, register


@register("fidelity", space="domain_labels", groups=("domain",), cheap=True, pooled=False, needs_real=False,
          outputs=[Output("label_fidelity", "higher", 3, label="label fidelity", summary=True,
                          caption="share of generated images the reference classifier assigns to their class "
                          "(higher is better)"),
                   Output("predicted_as", "", 3, "share of a class's generated images the reference classifier "
                          "assigns to the class in `settings`", compare=False)])
def fidelity(real, predicted, *, cls, **_):
    """Label fidelity (and the confusion row) of one class's generated images."""
    counts = np.bincount(predicted, minlength=eurosat.NUM_CLASSES) / len(predicted)
    return {"label_fidelity": float(counts[eurosat.CLASSES.index(cls)]),
            "predicted_as": {f"predicted={other}": float(share) for other, share in zip(eurosat.CLASSES, counts)}}
