# The C field reader of the decode fast path (_fields.c); records._reader calls it.
from typing import Any

def split(payload: str, kinds: bytes, signs: tuple[Any, ...], /) -> list[Any]: ...
