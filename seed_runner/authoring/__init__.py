"""The authoring wing: ``seed init`` (scaffold), ``seed build``, ``seed list`` and ``seed inspect`` (describe)."""
