"""`python -m schema [PATH]`: print the SDL of the schema, or write it to PATH."""

from __future__ import annotations

import sys
from pathlib import Path

from strawberry.printer import print_schema

from schema import build_schema


def main(argv: list[str]) -> int:
    sdl = print_schema(build_schema()) + "\n"
    if argv:
        Path(argv[0]).write_text(sdl)
    else:
        sys.stdout.write(sdl)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
