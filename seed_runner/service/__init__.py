"""`seed serve`: Seed images as processes of an OGC API - Processes server (Part 1: Core).

``app`` is the only module that imports Starlette; ``negotiation``, ``documents``, ``execute_request``,
``tokens`` and ``openapi`` are pure; ``catalog`` reads the engine's images; ``jobs`` runs jobs as runs of the run
store through an executor. ``seed_runner.serve.create_app`` is the front door for those who mount the app.
"""
