"""Write man/textseq-*.1 from the click definitions (built-in commands only).

python tools/make_man.py           # regenerate man/
python tools/make_man.py --check   # exit 1 if man/ is out of date
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

MAN_DIR = Path(__file__).resolve().parent.parent / "man"


def expected_pages() -> dict[str, str]:
    os.environ["TEXTSEQ_LOAD_PLUGINS"] = ""  # third-party plugins' commands are not ours to document
    from textseq.cli import build_cli
    from textseq.cli.manpage import all_pages

    return all_pages(build_cli())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="only check that man/ is up to date")
    args = parser.parse_args()
    pages = expected_pages()
    present = {p.name: p.read_text(encoding="utf-8") for p in MAN_DIR.glob("*.1")}
    stale = sorted(set(present) - set(pages))
    changed = sorted(name for name, text in pages.items() if present.get(name) != text)
    if args.check:
        for name in changed + stale:
            print(f"man/{name} is out of date: run python tools/make_man.py", file=sys.stderr)
        return 1 if changed or stale else 0
    MAN_DIR.mkdir(exist_ok=True)
    for name in stale:
        (MAN_DIR / name).unlink()
    for name in changed:
        (MAN_DIR / name).write_text(pages[name], encoding="utf-8")
    print(f"man/: {len(changed)} written, {len(stale)} removed, {len(pages) - len(changed)} unchanged")
    return 0


if __name__ == "__main__":
    sys.exit(main())
