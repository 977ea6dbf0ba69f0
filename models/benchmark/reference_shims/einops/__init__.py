"""A from-scratch stand-in for einops (rearrange, repeat, reduce, pack, unpack) on
torch tensors, for running the reference RoFormer code where einops is not
installed (models/benchmark/reference_roformer_demix.py). Only what the
reference's bs_roformer/mel_band_roformer/attend use is covered: named axes,
parenthesised groups, "1" or "()" unit axes, one "...", sizes as keywords.

The operations follow einops's own sequence (reshape to the elementary axes,
reduce, permute, add axes and expand, reshape to the output groups), so the
tensors come out with the same values and layouts as with einops.
"""
import math

__all__ = ["rearrange", "repeat", "reduce", "pack", "unpack", "EinopsError"]


class EinopsError(ValueError):
    pass


def _parse_side(text):
    """A pattern side as a list of groups, each a list of axis names ("..." for the ellipsis)."""
    groups, current, in_group = [], None, False
    for token in text.replace("(", " ( ").replace(")", " ) ").split():
        if token == "(":
            if in_group:
                raise EinopsError("nested groups in " + repr(text))
            current, in_group = [], True
        elif token == ")":
            if not in_group:
                raise EinopsError("unbalanced ) in " + repr(text))
            groups.append(current)
            in_group = False
        elif token == "1":
            if in_group:
                continue  # a unit axis inside a group adds nothing
            groups.append([])
        elif in_group:
            current.append(token)
        else:
            groups.append([token])
    if in_group:
        raise EinopsError("unbalanced ( in " + repr(text))
    return groups


def _expand_ellipsis(groups, ellipsis_axes):
    expanded = []
    for group in groups:
        if group == ["..."]:
            expanded.extend([[name] for name in ellipsis_axes])
        elif "..." in group:
            at = group.index("...")
            expanded.append(group[:at] + ellipsis_axes + group[at + 1:])
        else:
            expanded.append(group)
    return expanded


def _plan(shape, pattern, sizes):
    """Left and right groups (ellipsis expanded) and the size of every elementary axis."""
    if "->" not in pattern:
        raise EinopsError("no -> in " + repr(pattern))
    left_text, right_text = pattern.split("->")
    left, right = _parse_side(left_text), _parse_side(right_text)
    ellipsis_axes = []
    if any("..." in group for group in left):
        ellipsis_axes = ["…%d" % i for i in range(len(shape) - (len(left) - 1))]
    elif len(left) != len(shape):
        raise EinopsError("pattern %r for a tensor of %d dimensions" % (pattern, len(shape)))
    left, right = _expand_ellipsis(left, ellipsis_axes), _expand_ellipsis(right, ellipsis_axes)
    if len(left) != len(shape):
        raise EinopsError("pattern %r for shape %s" % (pattern, tuple(shape)))
    axis_sizes = dict(sizes)
    for group, length in zip(left, shape):
        unknown = [name for name in group if name not in axis_sizes]
        known = math.prod(axis_sizes[name] for name in group if name in axis_sizes)
        if len(unknown) > 1:
            raise EinopsError("cannot infer %s in %r" % (unknown, pattern))
        if unknown:
            if known == 0 or length % known != 0:
                raise EinopsError("shape %s does not divide in %r" % (tuple(shape), pattern))
            axis_sizes[unknown[0]] = length // known
        elif known != length:
            raise EinopsError("shape %s does not match %r with %s" % (tuple(shape), pattern, sizes))
    return left, right, axis_sizes


def _apply(tensor, pattern, reduction, sizes):
    left, right, axis_sizes = _plan(tuple(tensor.shape), pattern, sizes)
    left_axes = [name for group in left for name in group]
    right_axes = [name for group in right for name in group]
    tensor = tensor.reshape([axis_sizes[name] for name in left_axes])
    reduced = [i for i, name in enumerate(left_axes) if name not in right_axes]
    if reduced:
        if reduction is None:
            raise EinopsError("axes %s vanish in %r" % ([left_axes[i] for i in reduced], pattern))
        tensor = getattr(tensor, reduction)(dim=tuple(reduced)) if reduction in ("sum", "mean", "prod") \
            else _reduce_one_by_one(tensor, reduced, reduction)
        left_axes = [name for name in left_axes if name in right_axes]
    kept = [name for name in right_axes if name in left_axes]
    order = [left_axes.index(name) for name in kept]
    if order != list(range(len(order))):
        tensor = tensor.permute(order)
    added = [name for name in right_axes if name not in left_axes]
    if added:
        if reduction != "repeat":
            raise EinopsError("new axes %s in %r" % (added, pattern))
        view, target = [], []
        for name in right_axes:
            view.append(1 if name in added else axis_sizes[name])
            target.append(axis_sizes[name])
        tensor = tensor.reshape(view).expand(target)
    return tensor.reshape([math.prod(axis_sizes[name] for name in group) for group in right])


def _reduce_one_by_one(tensor, dims, reduction):
    for dim in sorted(dims, reverse=True):
        tensor = getattr(tensor, reduction)(dim=dim)
        if isinstance(tensor, tuple):  # max/min return (values, indices)
            tensor = tensor[0]
    return tensor


def rearrange(tensor, pattern, **sizes):
    if isinstance(tensor, (list, tuple)):
        import torch
        tensor = torch.stack(list(tensor))
    return _apply(tensor, pattern, None, sizes)


def repeat(tensor, pattern, **sizes):
    return _apply(tensor, pattern, "repeat", sizes)


def reduce(tensor, pattern, reduction, **sizes):
    return _apply(tensor, pattern, reduction, sizes)


def _star_position(pattern):
    axes = pattern.split()
    if axes.count("*") != 1:
        raise EinopsError("pack/unpack pattern needs one *: " + repr(pattern))
    at = axes.index("*")
    return at, len(axes) - at - 1


def pack(tensors, pattern):
    """Tensors flattened over the * axes and concatenated there, with their * shapes."""
    import torch
    before, after = _star_position(pattern)
    shapes, flat = [], []
    for tensor in tensors:
        end = tensor.ndim - after
        shapes.append(tuple(tensor.shape[before:end]))
        flat.append(tensor.reshape(tuple(tensor.shape[:before]) + (-1,) + tuple(tensor.shape[end:])))
    return torch.cat(flat, dim=before), shapes


def unpack(tensor, packed_shapes, pattern):
    before, after = _star_position(pattern)
    pieces, start = [], 0
    for shape in packed_shapes:
        length = math.prod(shape)
        index = (slice(None),) * before + (slice(start, start + length),)
        piece = tensor[index]
        pieces.append(piece.reshape(tuple(tensor.shape[:before]) + tuple(shape) + tuple(tensor.shape[before + 1:])))
        start += length
    if start != tensor.shape[before]:
        raise EinopsError("unpack: shapes %s do not cover %d" % (packed_shapes, tensor.shape[before]))
    return pieces
