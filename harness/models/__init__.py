"""Stage 2, variants: the conditional generator and discriminator built from a configuration, and the registry
of named variants (the paper's model, its ablations, modern variants) that the configurations come from.

Imports only the data stage and the top-level building blocks.
"""
