"""``apkscan serve``: an upload service and REST API over the batch machinery.

Layout of a data folder (``--data``)::

    apkscan.db        the batch results store (``apkscan query`` and the dashboard read it)
    serve.db          API tokens (hashed) and the job queue (survives restarts)
    reports/          JSON, HTML and SARIF report of each scan, named as by ``apkscan batch``
    uploads/ab/<sha256>.apk   each upload, stored under its own hash, never under its name
    workers.log       the worker processes' stderr

Nothing here imports Starlette or uvicorn at module level except :mod:`apkscan.serve.app`,
which only ``apkscan serve`` imports, so other commands start as fast as before.
"""
