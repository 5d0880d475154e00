"""Stage 4, evaluation: the evaluator, the metric registry and its families, feature spaces (Inception, the
reference EuroSAT classifier), Fréchet and kernel distances, and cached real-image statistics.

Knows generators and images, not run folders (harness.runs.evaluation evaluates a run folder).
"""
