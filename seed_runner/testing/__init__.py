"""`seed test`: a job's own test cases (``tests/<case>/case.json``), run through the normal runner and compared
with what each case expects.

- ``cases``: the case format (``schemas/seed-runner.test-case.schema.json``), loading and checking (pure);
- ``expectations``: a run's result document compared with a case's expectations (pure);
- ``report``: the outcome of each case and of the whole suite, as a document and JUnit cases (pure);
- ``junit``: a generic JUnit XML writer (also for other suites);
- ``suite``: finding the image and the cases, running them (side by side with ``parallel``), the report.

``seed_runner.test_job`` (``suite.test_job``) is the Python twin of `seed test`; ``seed_runner.TestReport`` what it
returns. Nothing is imported here: ``import seed_runner.testing.cases`` loads no runner.
"""

