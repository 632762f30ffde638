"""Build hook for the optional C extension; the project metadata is in pyproject.toml.

``apkscan.extract._dexfast`` speeds up the dex reader about fivefold. It is optional:
without a C compiler (or Python headers) the build of the extension fails with a warning,
the install goes on, and :mod:`apkscan.extract.dex` uses its pure-Python code.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "apkscan.extract._dexfast",
            ["apkscan/extract/_dexfast.c"],
            optional=True,
        )
    ]
)
