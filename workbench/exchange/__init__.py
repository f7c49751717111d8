"""Exchange with translators' tools: a translate run's aligned segments out as XLIFF 2.1 and
TMX 1.4b, and post-edited XLIFF back in.

- ``records``: a run's outputs (from their provenance) and their units, from the cache.
- ``xmltext``: writing XML with the standard library, and reading untrusted XML safely.
- ``codes``: sentences with inline markup, whose markup the files carry as inline codes.
- ``xliff``, ``tmx``: the two file formats.
- ``export``, ``importing``: ``workbench export`` and ``workbench import-xliff``.
"""
