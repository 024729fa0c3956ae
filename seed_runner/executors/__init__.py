"""The home of the executors (issue 11): where a run request is run, in the concurrent.futures shape (submit,
a future-like handle, cancel, as_completed, close): a local resource-aware pool and Dask distributed.
Empty until that work lands; nothing imports it yet.
"""
