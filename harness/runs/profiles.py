"""Named scales at which a variant is trained.

A profile changes only how much is trained (width, data, epochs, batch,
logging cadence), never what is trained, so every variant under one profile is
comparable. Each profile says in its description what it scales.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.config import RunConfig, apply
from harness.errors import ConfigError


@dataclass(frozen=True)
class Profile:
    name: str
    description: str
    overrides: dict
    cost: str = ""  # what it took, measured, with the machine named (`harness profiles` shows it)


PROFILES: dict[str, Profile] = {
    p.name: p
    for p in (
        Profile(
            "smoke",
            "seconds: width 1/8, 8 train images per class, 2 epochs, batch 16, no Inception evaluation; "
            "checks plumbing, not quality",
            {"model.width": 0.125, "data.split": "train", "data.per_class": 8, "train.epochs": 2,
             "train.batch_size": 16, "log.grid_columns": 4, "eval.metrics": "", "eval.sample_sizes": ""},
            "~15 s including start-up (a machine whose CPU model was not recorded); for tests",
        ),
        Profile(
            "cpu",
            "under 15 minutes on 2 CPU cores: width 1/4, 25% of the train split (5,400 images, "
            "stratified), 20 epochs (1,680 steps: the knee of the learning curves), batch 64; final FID/KID "
            "with 100 images per class (the paper used 500)",
            {"model.width": 0.25, "data.split": "train", "data.fraction": 0.25, "train.epochs": 20,
             "train.batch_size": 64, "eval.n": 100},
            "6 min 51 s wall (training 5 min 14 s, final evaluation 1 min 28 s, the rest 9 s; warm real-feature "
            "cache), idle, 2-core AMD EPYC (family 26, model 2), 2026-12-01",
        ),
        Profile(
            "bench",
            "comparisons across seeds: width 1/4, 25% of the train split (5,400 images), 24 epochs (2,016 "
            "steps), batch 64; final FID/KID and precision/recall/density/coverage with 250 images per class, on "
            "Inception and on the reference classifier's features, label fidelity and domain FID, and the domain "
            "curve every 4 epochs. Chosen from the learning curves (docs, Evidence, 'Learning curves'): "
            "past the modern variant's knee, where paper_dcgan and it are far apart",
            {"model.width": 0.25, "data.split": "train", "data.fraction": 0.25, "train.epochs": 24,
             "train.batch_size": 64, "eval.n": 250, "eval.metrics": "fid,kid,prdc,fidelity,domain_fid,domain_prdc",
             "eval.domain_every": 4},
            "19 min 25 s per cell beside another (--jobs 2: training 11 min 4 s, final evaluation 8 min 12 s), so "
            "5 variants x 5 seeds in about 4 h (more with nearest_upsampling), on a 2-core AMD EPYC (family 25, "
            "model 17), 2026-12-03; "
            "13-14 min on the faster family 26 (model 2) before the tf.data fix, 2026-12-01",
        ),
        Profile(
            "long",
            "does the bench ranking hold with more training? width 1/4, the whole train split (21,600 images: "
            "at bench's 5,400 a discriminator sees each image ~240 times in 20,000 steps), 30 epochs (10,110 "
            "steps: five times bench's), batch 64; evaluated as bench (N = 250, Inception and domain features), "
            "the domain curve every 3 epochs, Inception FID/KID also at epoch 15, generators kept at 15 and 30. "
            "Five times bench, not ten: ten would take over 2 h per cell on 2 cores. It is not past the variants' "
            "knees: all three 20,000-step curves (docs, Evidence) keep improving; --set train.epochs=60 trains "
            "that far",
            {"model.width": 0.25, "data.split": "train", "data.fraction": 1.0, "train.epochs": 30,
             "train.batch_size": 64, "eval.n": 250, "eval.metrics": "fid,kid,prdc,fidelity,domain_fid,domain_prdc",
             "eval.domain_every": 3, "eval.every": 15, "log.keep_every": 15},
            "about 1 h 10 min per cell beside another (--jobs 2; training 30 epochs at 99-130 s, medians 113-118 "
            "s, for no_batchnorm and the modern variant, evaluation 13-14 min: 6-6.5 min at epochs 15 and 30, "
            "~10 s per domain-curve point), on a 2-core AMD EPYC (family 25, model 17), 2026-12-03; nearest_upsampling "
            "about 1 h 45 min (30 epochs at 171-210 s, median 182 s: about 1.6 times the others' training time; "
            "evaluation 12.4 min), same machine, 2026-12-04. Before the tf.data fix and D's label-free first "
            "convolution: 1 h 37 min for paper_dcgan (30 x 142 s)",
        ),
        Profile(
            "paper",
            "the paper's protocol: full width, all 27,000 images, 300 epochs, batch 128, float32, per-class "
            "FID/KID and precision/recall every 10 epochs with 500 real vs 500 generated per class (on Inception "
            "and on the reference classifier's features), label fidelity and domain FID every 5, generators kept "
            "every 10. float32 because the paper trained in it and because a run that spans machines must resume "
            "on each (bf16 is native on only some of them)",
            {"model.width": 1.0, "data.split": "all", "train.epochs": 300, "train.batch_size": 128,
             "train.precision": "float32", "log.keep_every": 10, "eval.n": 500, "eval.every": 10,
             "eval.metrics": "fid,kid,prdc,fidelity,domain_fid,domain_prdc", "eval.domain_every": 5},
            "float32 on a 2-core Intel Xeon (family 6, model 167), 2026-12-05 and -06: 8 to 10 min an epoch on "
            "both cores (epochs 19, 20, 24-30, 34-50, 59-60, 62-70: 45.5-55.5 img/s), 16 to 33 min on one core "
            "beside a long cell (epochs 1-18: 13.4-28.0 img/s); the evaluation at N = 500 x 10 classes 18-23 s on "
            "both cores (domain metrics, every 5 epochs; 41-50 s on one core) and 4 min 10 s to 4 min 31 s on both "
            "cores (with FID/KID/PRDC, every 10: epochs 20-70; 13 min 26 s on one core); so about 8 h for 50 epochs on "
            "both cores, resumable across machines (each sitting's machine is recorded). On a 2-core AMD EPYC (family "
            "25, model 17), 2026-12-06: 9.8 to 10.1 min an epoch on both cores with little else running (epochs "
            "6-10 and 16-20: 44.4-45.8 img/s); the evaluation with FID/KID/PRDC 5 min 39 s (epoch 20; 10 min 20 s "
            "at epoch 10, the first, with the Inception weights and the real features computed cold); on the same "
            "machine on 2026-12-06 and -07, 10.0 to 14.0 min an epoch with little else running (epochs 30, 32-40, "
            "44-50, 52-55, 58-60, 62-70, 72-80 and 82-86: 32.1-44.6 img/s; why slower than at 6-20 is not known) "
            "and that evaluation 5 min 41 s to 6 min 22 s (epochs 40-80). On a 2-core AMD EPYC (family 25, model 1; "
            "AVX2, no AVX-512), 2026-12-07: 13.5 to 18 min an epoch with oneDNN's kernels and little else running "
            "(epochs 2-4, 6-10, 13-15 and 17-19: 24.8-33.3 img/s); the domain evaluation 39 s (epoch 15), the one "
            "with FID/KID/PRDC 14 min 53 s (epoch 10, cold); 31 to 33 min an epoch with TensorFlow's own choice "
            "there, Eigen's kernels (13.7-13.9 img/s; the harness now asks for oneDNN)",
        ),
    )
}


def markdown_table() -> str:
    """The profile table of docs/variants.md, made from PROFILES so the page cannot drift from `harness profiles`.

    `python -m harness.runs.profiles` prints it; a test fails when the page's table differs.
    """
    rows = ["| profile | what it scales | what it cost, measured (machine named) |", "|---|---|---|"]
    rows += [f"| `{p.name}` | {p.description} | {p.cost or 'not measured'} |" for p in PROFILES.values()]
    return "\n".join(rows) + "\n"


def apply_profile(cfg: RunConfig, name: str) -> RunConfig:
    if name not in PROFILES:
        raise ConfigError(f"unknown profile {name!r}; choose one of {', '.join(PROFILES)}")
    cfg.profile = name
    return apply(cfg, PROFILES[name].overrides)


if __name__ == "__main__":
    import sys

    sys.stdout.write(markdown_table())
