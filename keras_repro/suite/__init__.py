"""The reproduction framework: claims and their rules, typed configs, the registry, the runner, results
and provenance, and the runtime every reproduction trains through.

Reproductions use it; apps that only want the Keras objects (``keras_repro.models``, ``.layers``,
``.optimizers``, ``.losses``, ``.activations``, ``.data``) never need to import it.
"""
