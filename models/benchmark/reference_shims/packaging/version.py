"""A fallback for packaging.version where Debian's python3-packaging is missing:
release numbers compared as tuples (enough for attend.py's torch >= 2.0 test)."""
import re


def parse(text):
    return tuple(int(part) for part in re.findall(r"\d+", str(text).split("+")[0])[:3])
