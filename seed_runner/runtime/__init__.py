"""The runtime wing: a run from request to result.

``command`` (Bash-compatible expansion) and ``plan`` (request + manifest -> RunPlan) are pure; ``runner`` drives a
plan through the engine wing, then harvest and ``outcome``, and writes the result document; ``logstream`` masks
secrets in the streamed logs; ``layout`` fixes the container-side paths.
"""
