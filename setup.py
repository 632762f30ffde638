"""Build hook for the optional C extension; the project metadata is in pyproject.toml.

``apkscan.extract._dexfast`` speeds up the dex reader about eightfold, and
``apkscan.extract._textfast`` builds the text blob the keyword rules search, and
``apkscan._simfast`` makes the per-method passes of the code sketch (apkscan.similarity), and
``apkscan.extract._zipfast`` probes unread archive entries for zip bombs without the GIL, and
``apkscan.extract._tlshfast`` computes the TLSH digests of similarity matching without it. All are
optional: without a C compiler (or Python headers) their build fails with a warning, the
install goes on, and :mod:`apkscan.extract.dex` and :mod:`apkscan.rules.context` use
their pure-Python code.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "apkscan.extract._dexfast",
            ["apkscan/extract/_dexfast.c"],
            optional=True,
        ),
        Extension(
            "apkscan.extract._textfast",
            ["apkscan/extract/_textfast.c"],
            optional=True,
        ),
        Extension(
            "apkscan._simfast",
            ["apkscan/_simfast.c"],
            optional=True,
        ),
        Extension(
            "apkscan.extract._tlshfast",
            ["apkscan/extract/_tlshfast.c"],
            optional=True,
        ),
        Extension(
            "apkscan.extract._zipfast",
            ["apkscan/extract/_zipfast.c"],
            libraries=["z"],  # zlib's headers (zlib1g-dev); without them the build is skipped
            optional=True,
        ),
    ]
)
