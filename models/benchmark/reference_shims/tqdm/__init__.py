"""A fallback for tqdm where Debian's python3-tqdm is missing: no progress bar."""


class tqdm:
    def __init__(self, iterable=None, *_, **__):
        self.iterable = iterable

    def __iter__(self):
        return iter(self.iterable)

    def update(self, *_):
        pass

    def close(self):
        pass
