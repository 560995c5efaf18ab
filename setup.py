"""The C part of kisfeed: the decode fast path's field reader (kisfeed.schema._fields).

Everything else is declared in pyproject.toml. The extension is optional: where no C compiler
is at hand the install still succeeds and records._reader reads with msgspec instead.
"""

from setuptools import Extension, setup

setup(ext_modules=[Extension("kisfeed.schema._fields", ["src/kisfeed/schema/_fields.c"], optional=True)])
