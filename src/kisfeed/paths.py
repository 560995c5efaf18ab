"""kisfeed's directories on the user's machine, and how a private file is written there.

The cache holds approval keys (auth.py) and the downloaded KIS master (instruments.py); the
config home holds the CLI's ``config.toml`` (cli/config.py). Approval keys are secrets for a
day (reference 1.3): the cache directory is made 0700 and each file in it 0600.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["cache_dir", "config_home", "write_private"]


def cache_dir() -> Path:
    """``$KISFEED_CACHE_DIR``, else ``$XDG_CACHE_HOME/kisfeed``, else ``~/.cache/kisfeed``."""
    if explicit := os.environ.get("KISFEED_CACHE_DIR"):
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "kisfeed"


def config_home() -> Path:
    """``~/.config/kisfeed``: where the CLI looks for ``config.toml`` last."""
    return Path.home() / ".config" / "kisfeed"


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` for the user alone: the directory is created 0700, the file
    0600 (even if it existed with wider permissions), replaced whole so that a reader never
    sees half of it. OSError is the caller's to handle."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.chmod(tmp, 0o600)  # in case the file existed with wider permissions
    os.replace(tmp, path)
