"""A stand-in for beartype: the decorator checks nothing and returns the function as it is."""


def beartype(function=None, **_):
    if function is None:
        return lambda f: f
    return function
