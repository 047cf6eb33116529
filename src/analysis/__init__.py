"""berdaya: a research workbench for evaluating community-empowerment programmes.

The package ``analysis`` holds every piece of logic as pure functions on DataFrames; the
notebooks in ``notebooks/`` only set parameters, call these functions and display results.
"""

from __future__ import annotations

from importlib import metadata

try:
    __version__ = metadata.version("berdaya")
except metadata.PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0+unknown"

__all__ = ["__version__"]
