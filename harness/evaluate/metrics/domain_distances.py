"""Domain FID and KID: Fréchet and kernel distances on the reference EuroSAT classifier's features.

Inception was trained on ImageNet objects; a classifier trained on EuroSAT
sees land cover. At the quality a CPU reaches, these track the visible
progress that Inception FID misses (docs/evidence/curves-w025). Cheap:
recorded every eval.domain_every epochs.
"""

from __future__ import annotations

from harness.evaluate.fid import distances
from harness.evaluate.metrics import Output, register


@register("domain_fid", space="domain", groups=("domain",), cheap=True, pooled=False,
          outputs=[Output("domain_fid", "lower", 2, label="domain FID", summary=True, floor=True,
                          caption="Fréchet distance on the reference EuroSAT classifier's "
                          "features (lower is better)"),
                   Output("domain_kid", "lower", 4, label="domain KID",
                          caption="kernel distance on the same features (lower is better)"),
                   Output("domain_kid_std", "", 4, "domain KID's standard deviation over subsets", compare=False)])
def domain_fid(real, fake, *, cfg, **_):
    """FID and KID on the reference classifier's features."""
    mean, std = distances.kid(real, fake, subset_size=min(1000, len(real), len(fake)), seed=cfg.seed)
    return {"domain_fid": distances.fid(real, fake), "domain_kid": mean, "domain_kid_std": std}
