"""Entry point of a local batch worker: ``python -m analysis.run.batch_worker FD PARENT_PID``.

``FD`` is this process's end of a socket pair with the main process (see
:class:`analysis.run.batch._LocalPool`); the loop itself is :func:`analysis.run.batch.worker_loop`.
Keeping the entry point in its own module means ``analysis.run.batch`` is imported once, under its
own name, so the jobs and results pickled across the socket are the same classes on both ends.
"""

from __future__ import annotations

import sys
from multiprocessing.connection import Connection


def main(argv: list[str]) -> None:
    """Serve villages over the inherited socket until the main process says stop."""
    from analysis.run.batch import worker_loop

    worker_loop(Connection(int(argv[0])), int(argv[1]))


if __name__ == "__main__":
    main(sys.argv[1:])
