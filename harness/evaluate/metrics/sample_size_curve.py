"""FID against N: FID's small-sample bias made visible (Chong & Forsyth 2020).

For each N in eval.sample_sizes: FID of N real vs N generated (mean and sd
over bootstraps), the real-vs-real floor at N, and FID-infinity (the
intercept of FID against 1/N). Added whenever eval.sample_sizes is set and fid
is asked for; it reads beyond eval.n generated images (a prefix-consistent
set from the same fixed latents).
"""

from __future__ import annotations

from harness import config
from harness.data import eurosat
from harness.evaluate.fid import distances
from harness.evaluate.metrics import Output, register
from harness.rows import row


@register("fid_curve", space="inception", per_class=False, settings=("eval.resize",),
          implied=lambda cfg, names: bool(cfg.eval.sample_sizes) and "fid" in names,
          outputs=[Output("fid_at_n", "", 2, "FID at N (mean over bootstraps)", compare=False),
                   Output("fid_at_n_std", "", 2, "its sd over bootstraps", compare=False),
                   Output("fid_real_floor", "", 2, "real-vs-real FID at N", compare=False),
                   Output("fid_inf", "lower", 2, "FID extrapolated to infinite N", compare=False)])
def fid_curve(bank, epoch):
    """FID against N, the real-vs-real floor at each N, and FID-infinity, per class."""
    e = bank.cfg.eval
    settings = bank.ev.settings_of("fid_curve")
    rows = []
    for cls, name in enumerate(eurosat.CLASSES):
        real, fake = bank.real("inception", cls), bank.fake_all("inception", cls)
        sizes = [n or min(len(real), len(fake)) for n in config.sample_sizes(e.sample_sizes)]
        curve = distances.fid_sample_size_curve(real, fake, sizes, bootstraps=e.bootstraps, seed=bank.cfg.seed,
                                                method=e.sqrt)
        for n, mean, std in curve["points"]:
            rows += [row(epoch, name, "fid_at_n", mean, n, n, settings),
                     row(epoch, name, "fid_at_n_std", std, n, n, settings)]
        rows += [row(epoch, name, "fid_real_floor", value, n, n, settings) for n, value in curve["floor"]]
        if curve["fid_inf"] is not None:
            rows.append(row(epoch, name, "fid_inf", curve["fid_inf"], len(real), len(fake), settings))
    return rows
