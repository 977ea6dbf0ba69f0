"""A stand-in for librosa where only librosa.filters.mel is needed (the Mel-Band RoFormer's bands)."""
from librosa import filters  # noqa: F401
