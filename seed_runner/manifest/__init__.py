"""The manifest wing (pure): the typed model, names, strict JSON, labels, bundled schemas, sources, images as data.

Nothing here validates beyond parsing, touches an engine or prints; every other wing builds on it.
"""
