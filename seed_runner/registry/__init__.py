"""The registry wing: the Registry HTTP API v2 client and ``seed publish``, ``seed pull``, ``seed search``."""
