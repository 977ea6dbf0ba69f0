"""A stand-in for ml_collections.ConfigDict: a dict whose keys read as attributes, nested."""


class ConfigDict(dict):
    def __init__(self, values=None, **_):
        super().__init__()
        for key, value in (values or {}).items():
            self[key] = ConfigDict(value) if isinstance(value, dict) else value

    def __getattr__(self, key):
        try:
            return self[key]
        except KeyError:
            raise AttributeError(key) from None

    def __setattr__(self, key, value):
        self[key] = value
