"""Stage 1, data: the EuroSAT archive (class names, reading, checksums), its splits and the decoded-image cache.

Imports only the top-level building blocks (harness.config, errors, atomicio, cachefile, paths, fetch, ...).
"""
