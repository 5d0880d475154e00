"""The Inception side of evaluation: the FID network and its verified weights (inception, weights, torchscript,
golden), feature extraction with its resize protocols (extractor), the distances on features (distances, prdc),
real-image sets and their cached features (imagesets, real_cache), and the real-vs-real floors (floor). The
registered metrics that use them live in harness.evaluate.metrics."""
