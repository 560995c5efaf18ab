"""``python -m kisfeed.store ROOT [--follow]``: the converter the recorder runs as a child process."""

from .converter import _main

raise SystemExit(_main())
