"""The outputs wing (pure file-system work): output capture from a folder, metadata side-cars and their
explanation. A scheduler that ran the container itself can use it alone.
"""
