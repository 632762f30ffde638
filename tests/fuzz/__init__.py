"""Mutation fuzzing of ``apkscan.api.scan`` (see ``docs/security.md``).

``mutate`` builds hostile inputs from seed APKs, ``harness`` runs one input in-process and
classifies the outcome, ``run`` is the command line driver::

    python -m tests.fuzz.run --seconds 600 --seed 7 --save-crashes crashes/
"""
