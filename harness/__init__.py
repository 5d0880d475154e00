"""harness: a benchmark harness for conditional GAN variants on EuroSAT RGB.

Data flows one way, and the folders are its stages; a module imports only from its own stage, an earlier one,
or the top-level building blocks every stage uses (config, errors, atomicio, cachefile, paths, fetch, streams,
phases, images, rows):

    data -> models -> train -> evaluate -> runs -> report -> cli

The public paths for plugins (harness.registry, harness.metrics, harness.objectives, harness.config) sit on top
and are never imported from inside the package. Importing this package does not import TensorFlow; the modules
that need it do.
"""

__version__ = "0.5.0"
