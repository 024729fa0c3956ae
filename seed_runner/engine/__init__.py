"""The engine wing: the only code that talks to a container engine.

``endpoint`` decides where the engine is (DOCKER_HOST, TLS, ssh, docker contexts) and ``transport`` / ``ssh``
open connections to it; ``client`` speaks the Docker Engine API over them, reading every answer through
``answer`` (a deadline for the whole call, a cap on the body); ``images`` connects and inspects images;
``containers`` executes a RunPlan (attach, start, timeout, OOM), with ``custody`` creating and removing the
container so that nothing outlives the runner and ``logs`` pumping its output; ``reaper`` removes what dead
runners left behind; ``sdk`` builds the docker SDK client (build, push, pull) for the same endpoint.
"""
