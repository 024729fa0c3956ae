"""The home of the run store (run history and the result cache, issue 10): an embedded SQLite database that
indexes run folders. Empty until that work lands; nothing imports it yet.
"""
