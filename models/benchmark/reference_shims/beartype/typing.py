"""beartype.typing for the beartype stand-in: the standard typing names."""
from typing import *  # noqa: F401,F403
