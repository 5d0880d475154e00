"""Built-in variant plugins, one module per family. Every module here is
imported by the registry; each registers its variants with @register_variant."""
