"""The engine wing: the only code that talks to a container engine.

``client`` speaks the Docker Engine API, ``images`` connects and inspects images, ``containers`` executes a
RunPlan (create, attach, start, timeout, OOM, removal, leftovers).
"""
