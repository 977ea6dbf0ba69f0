#!/usr/bin/env python3
"""Upstream Demucs's apply_model on the full-size htdemucs architecture.

Run by htdemucs-benchmark --upstream-src DIR (DIR holds upstream's demucs/
package, e.g. `git archive HEAD demucs` of facebookresearch/demucs) for the
same case it measures itself: random weights, stereo noise, split=True,
overlap 0.25, shifts 0. Prints one JSON object. Not a test.

    upstream_apply_model.py --upstream-src DIR --threads 2 --seconds 30

Upstream's modules import packages that HTDemucs's apply path never calls
(julius, openunmix's Wiener filter, omegaconf, dora) or calls in a few fixed
patterns (einops.rearrange). Where one is not installed, a stand-in module
that covers just that use is put on sys.path (named in the JSON's "shims").
"""
import argparse
import json
import os
import resource
import sys
import tempfile
import time

SHIMS = {
    # demucs.py (Demucs v2 resampling), hdemucs/htdemucs (wiener with cac=False): never called here.
    "julius": "def resample_frac(*a, **k):\n    raise NotImplementedError('julius shim')\n",
    "openunmix/__init__.py": "",
    "openunmix/filtering.py": "def wiener(*a, **k):\n    raise NotImplementedError('openunmix shim')\n",
    # states.py: OmegaConf only when saving, fatal only without diffq.
    "omegaconf": "class OmegaConf:\n    pass\n",
    "dora/__init__.py": "",
    "dora/log.py": "def fatal(*a):\n    raise SystemExit(*a)\n",
    # The patterns htdemucs.py and transformer.py use: pure reshapes/permutes.
    "einops": '''
def rearrange(x, pattern, **sizes):
    p = pattern.replace(" ", "")
    if p == "bcft->bc(ft)":
        return x.reshape(x.shape[0], x.shape[1], -1)
    if p == "bc(ft)->bcft":
        return x.reshape(x.shape[0], x.shape[1], sizes["f"], -1)
    if p == "bcfrt1->b(t1fr)c":
        return x.permute(0, 3, 2, 1).reshape(x.shape[0], -1, x.shape[1])
    if p == "bct2->bt2c" or p == "bt2c->bct2":
        return x.permute(0, 2, 1)
    if p == "t2bc->bt2c":
        return x.permute(1, 0, 2)
    if p == "b(t1fr)c->bcfrt1":
        t1 = sizes["t1"]
        return x.reshape(x.shape[0], t1, -1, x.shape[2]).permute(0, 3, 2, 1)
    raise NotImplementedError("einops shim: " + pattern)
''',
}


def install_missing_shims():
    import importlib.util
    used = []
    root = tempfile.mkdtemp(prefix="demucs-upstream-shims-")
    for name, text in SHIMS.items():
        module = name.split("/")[0]
        if importlib.util.find_spec(module) is not None:
            continue
        path = os.path.join(root, name if "/" in name else name + ".py")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
        if module not in used:
            used.append(module)
    sys.path.insert(0, root)
    return used


HTDEMUCS_KWARGS = dict(
    sources=["drums", "bass", "other", "vocals"], audio_channels=2, samplerate=44100, channels=48, growth=2,
    nfft=4096, cac=True, depth=4, rewrite=True, freq_emb=0.2, emb_scale=10, kernel_size=8, stride=4,
    time_stride=2, context=1, context_enc=0, norm_starts=4, norm_groups=4, dconv_mode=3, dconv_depth=2,
    dconv_comp=8, bottom_channels=512, t_layers=5, t_heads=8, t_hidden_scale=4.0, t_emb="sin", t_norm_in=True,
    t_norm_first=True, t_norm_out=True, t_layer_scale=True, t_gelu=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--upstream-src", required=True)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=30)
    args = parser.parse_args()
    shims = install_missing_shims()
    sys.path.insert(0, args.upstream_src)
    from fractions import Fraction
    import torch
    from demucs.apply import apply_model
    from demucs.htdemucs import HTDemucs

    torch.set_num_threads(args.threads)
    start = time.perf_counter()
    torch.manual_seed(0)
    model = HTDemucs(segment=Fraction(39, 5), **HTDEMUCS_KWARGS).eval()
    load_s = time.perf_counter() - start
    torch.manual_seed(1)
    mix = torch.randn(1, 2, int(args.seconds * 44100)) * 0.1
    start = time.perf_counter()
    with torch.no_grad():
        out = apply_model(model, mix, shifts=0, split=True, overlap=0.25, progress=False, num_workers=0)
    compute_s = time.perf_counter() - start
    assert out.shape == (1, 4, 2, mix.shape[-1])
    print(json.dumps({
        "implementation": "upstream", "torch_version": torch.__version__, "shims": shims,
        "threads": args.threads, "audio_seconds": args.seconds, "load_seconds": round(load_s, 3),
        "compute_seconds": round(compute_s, 2), "compute_per_audio_second": round(compute_s / args.seconds, 4),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1)}))


if __name__ == "__main__":
    main()
