"""tqdm.auto for the tqdm fallback."""
from tqdm import tqdm  # noqa: F401
