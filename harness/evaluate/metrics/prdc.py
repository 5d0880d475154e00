"""Precision, recall (Kynkaanniemi et al. 2019), density and coverage (Naeem et al. 2020).

From k-nearest-neighbour balls, exactly (harness.evaluate.fid.prdc: blocked float64
distances). Registered on Inception features (precision, recall, ...) and on
the reference EuroSAT classifier's features (domain_precision, ...): per class
(generated class c against real class c), class mean, and pooled. The four
share one computation per class and space. k is eval.k (default 5, as Naeem
et al., StudioGAN and dgm-eval; NVIDIA and torch-fidelity use 3) and is
recorded in every row's settings.
"""

from __future__ import annotations

from harness.evaluate.fid import prdc as knn
from harness.evaluate.metrics import Output, register

CAPTIONS = {
    "precision": "share of generated images inside the real images' k-NN manifold (fidelity; higher is better)",
    "recall": "share of real images inside the generated images' k-NN manifold (diversity; higher is better)",
    "density": "real k-NN balls holding each generated image, over k (about 1 when the distributions match)",
    "coverage": "share of real images whose k-NN ball holds a generated image (diversity; higher is better)",
}


def _register(space: str, prefix: str, cheap: bool, groups: tuple[str, ...]) -> None:
    for part in knn.METRICS:
        name = prefix + part

        def compute(real, fake, *, cfg, cls, bank, _part=part, _space=space):
            scores = bank.memo(("prdc", _space, cls, cfg.eval.k), lambda: knn.prdc(real, fake, k=cfg.eval.k))
            return {prefix + _part: scores[_part]}

        compute.__doc__ = f"{part.capitalize()} on {space} features ({CAPTIONS[part]})."
        where = "Inception" if space == "inception" else "the reference classifier's"
        settings = ("eval.k", "eval.resize") if space == "inception" else ("eval.k",)
        register(name, space=space, settings=settings, cheap=cheap, groups=groups,
                 outputs=[Output(name, "" if part == "density" else "higher", 3,
                                 f"{part.capitalize()} on {where} features: {CAPTIONS[part]}",
                                 compare=part in ("precision", "recall"),
                                 plotted_against=prefix + "recall" if part == "precision" else "")])(compute)


_register("inception", "", cheap=False, groups=("prdc",))
_register("domain", "domain_", cheap=False, groups=("domain_prdc",))
