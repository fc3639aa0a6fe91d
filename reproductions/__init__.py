"""One module per reproduction; each registers itself with ``keras_repro.suite.registry.reproduction``.

Modules whose name starts with ``_`` are helpers and are not imported by discovery.
"""
