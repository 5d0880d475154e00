"""Inception FID and KID, per class, their class mean, and all classes pooled.

FID (Heusel et al. 2017) is biased upward at small N and comparable only at
equal N; KID (Binkowski et al. 2018) is unbiased at any N. Both on the
standard TF-FID InceptionV3 pool3 features (harness.evaluate.fid). `fid_terms`
splits FID into its mean and covariance parts, to ask why it moved.
"""

from __future__ import annotations

from harness.evaluate.fid import distances
from harness.evaluate.metrics import Output, register

# The 2022 study's published per-class FID (500 real vs 500 generated, TF-Keras ImageNet InceptionV3 -- not the
# standard TF-FID Inception graph used here, so the numbers are indicative, not comparable digit for digit).
PAPER_FID = {"mean": 116.97, "Forest": 8.97, "Pasture": 41.51, "SeaLake": 26.73, "Industrial": 312.99}


def _fid_caveat(cfg) -> str | None:
    if cfg.eval.n < distances.FEATURE_DIM:
        return (f"FID with {cfg.eval.n} generated images per class (< {distances.FEATURE_DIM} features): the "
                "covariance is rank-deficient, FID is biased upward and comparable only at equal N; KID is unbiased")
    return None


@register("fid", space="inception", groups=("inception",), settings=("eval.resize",), caveat=_fid_caveat,
          outputs=[Output("fid", "lower", 2, label="FID",
                          caption="Fréchet Inception distance (lower is better); biased upward at "
                          "N < 2048: compare only at equal N", floor=True, published=PAPER_FID)])
def fid(real, fake, *, cfg, **_):
    """Fréchet Inception distance."""
    return {"fid": distances.fid(real, fake, method=cfg.eval.sqrt)}


@register("kid", space="inception", groups=("inception",), settings=("eval.resize",),
          outputs=[Output("kid", "lower", 4, label="KID",
                          caption="Kernel Inception distance (lower is better; unbiased at any N)"),
                   Output("kid_std", "", 4, "KID's standard deviation over subsets", compare=False)])
def kid(real, fake, *, cfg, **_):
    """Kernel Inception distance (mean and sd over subsets of up to 1000)."""
    mean, std = distances.kid(real, fake, subset_size=min(1000, len(real), len(fake)), seed=cfg.seed)
    return {"kid": mean, "kid_std": std}


@register("fid_terms", space="inception", settings=("eval.resize",),
          outputs=[Output("fid_mean_term", "lower", 2, label="FID mean term",
                          caption="FID's mean term |mu_real - mu_fake|^2: how far the generated images' Inception "
                          "features sit from the real ones' as a whole (lower is better)"),
                   Output("fid_cov_term", "lower", 2, label="FID covariance term",
                          caption="FID's covariance term tr(S_real + S_fake - 2 sqrt(S_real S_fake)): how "
                          "differently the two sets vary (lower is better); the two terms sum to FID"),
                   Output("fid_spread", "", 3, label="feature spread, generated / real",
                          caption="tr S_fake / tr S_real: below 1 the generated images' Inception features vary "
                          "less than the real ones' (fewer modes), above 1 more", compare=False)])
def fid_terms(real, fake, *, cfg, **_):
    """FID's mean and covariance terms, and the generated features' spread against the real ones'."""
    terms = distances.fid_terms(real, fake)
    return {"fid_mean_term": terms["mean"], "fid_cov_term": terms["covariance"],
            "fid_spread": terms["trace_b"] / terms["trace_a"]}
