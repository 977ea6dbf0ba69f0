#!/usr/bin/env python3
"""Upstream Demucs's apply_model on the full-size htdemucs architecture.

Run by htdemucs-benchmark and pipeline-benchmark with --upstream-src DIR (DIR
holds upstream's demucs/ package, e.g. `git archive HEAD demucs` of
facebookresearch/demucs), always split=True, overlap 0.25, shifts 0. Prints
one JSON object. Not a test. Two modes:

    upstream_apply_model.py --upstream-src DIR --threads 2 --seconds 30
        (htdemucs-benchmark) random weights, stereo noise made in memory.

    upstream_apply_model.py --upstream-src DIR --threads 2 \
        --checkpoint MODEL.th --input MIX.wav --output VOCALS.wav [--stem vocals]
        (pipeline-benchmark) the whole job from file to file: the checkpoint
        through upstream's demucs.states.load_model (timed as the load), then
        the float WAV read, apply_model, the stem written as a float WAV (timed
        together as the compute; apply_model alone is reported too).

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


# WAVE_FORMAT_IEEE_FLOAT, and WAVE_FORMAT_EXTENSIBLE whose subformat is float.
FLOAT_FORMATS = (3, 0xFFFE)


def read_float_wav(path):
    """A 32-bit float WAV file (what pipeline-benchmark writes) as a (channels, frames)
    tensor and its rate. Python's wave module reads integer PCM only, and torchaudio is
    not needed for this one format."""
    import struct
    import torch
    with open(path, "rb") as f:
        raw = bytearray(f.read())
    if raw[0:4] != b"RIFF" or raw[8:12] != b"WAVE":
        raise ValueError(path + ": not a WAV file")
    at, channels, rate = 12, None, None
    while at + 8 <= len(raw):
        chunk, size = raw[at:at + 4], struct.unpack_from("<I", raw, at + 4)[0]
        if chunk == b"fmt ":
            tag, channels, rate, _, _, bits = struct.unpack_from("<HHIIHH", raw, at + 8)
            if tag not in FLOAT_FORMATS or bits != 32:
                raise ValueError(f"{path}: format {tag} with {bits} bits, not 32-bit float")
        elif chunk == b"data":
            if channels is None:
                raise ValueError(path + ": data before fmt")
            samples = torch.frombuffer(raw, dtype=torch.float32, count=size // 4, offset=at + 8)
            return samples.view(-1, channels).t(), rate
        at += 8 + size + (size & 1)
    raise ValueError(path + ": no data chunk")


def write_float_wav(path, audio, rate):
    """`audio` (channels, frames) as a 32-bit float WAV file, laid out as read_float_wav's input."""
    import struct
    import torch
    channels, frames = audio.shape
    data = bytearray(frames * channels * 4)
    torch.frombuffer(data, dtype=torch.float32).view(frames, channels).copy_(audio.t())
    header = b"RIFF" + struct.pack("<I", 4 + 26 + 12 + 8 + len(data)) + b"WAVE"
    header += b"fmt " + struct.pack("<IHHIIHHH", 18, 3, channels, rate, rate * channels * 4, channels * 4, 32, 0)
    header += b"fact" + struct.pack("<II", 4, frames)
    header += b"data" + struct.pack("<I", len(data))
    with open(path, "wb") as f:
        f.write(header)
        f.write(data)


def apply_to_noise(args):
    """htdemucs-benchmark's case: the architecture with its own random weights, on noise."""
    from fractions import Fraction
    import torch
    from demucs.apply import apply_model
    from demucs.htdemucs import HTDemucs

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
    return {"audio_seconds": args.seconds, "load_seconds": round(load_s, 3), "compute_seconds": round(compute_s, 2),
            "compute_per_audio_second": round(compute_s / args.seconds, 4)}


def separate_file(args):
    """pipeline-benchmark's case: a checkpoint file, a WAV file in, the stem's WAV file out."""
    import torch
    from demucs.apply import apply_model
    from demucs.states import load_model

    start = time.perf_counter()
    model = load_model(args.checkpoint).eval()
    load_s = time.perf_counter() - start
    start = time.perf_counter()
    mix, rate = read_float_wav(args.input)
    if rate != model.samplerate or mix.shape[0] != model.audio_channels:
        raise ValueError(f"{args.input}: {mix.shape[0]} channels at {rate} Hz, the model takes "
                         f"{model.audio_channels} at {model.samplerate} Hz")
    apply_start = time.perf_counter()
    with torch.no_grad():
        out = apply_model(model, mix[None], shifts=0, split=True, overlap=0.25, progress=False, num_workers=0)
    apply_s = time.perf_counter() - apply_start
    write_float_wav(args.output, out[0, model.sources.index(args.stem)], rate)
    compute_s = time.perf_counter() - start
    frames = mix.shape[-1]
    return {"stem": args.stem, "frames": frames, "audio_seconds": round(frames / rate, 3),
            "load_seconds": round(load_s, 3), "compute_seconds": round(compute_s, 3),
            "apply_model_seconds": round(apply_s, 3), "compute_per_audio_second": round(compute_s * rate / frames, 4)}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--upstream-src", required=True)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=30, help="length of the noise (without --checkpoint)")
    parser.add_argument("--checkpoint", help="an official-format .th: separate --input into --output")
    parser.add_argument("--input", help="a 32-bit float WAV file at the model's rate")
    parser.add_argument("--output", help="the stem's WAV file, 32-bit float")
    parser.add_argument("--stem", default="vocals")
    args = parser.parse_args()
    if args.checkpoint and not (args.input and args.output):
        parser.error("--checkpoint needs --input and --output")
    shims = install_missing_shims()
    sys.path.insert(0, args.upstream_src)
    import torch

    torch.set_num_threads(args.threads)
    figures = separate_file(args) if args.checkpoint else apply_to_noise(args)
    print(json.dumps({
        "implementation": "upstream", "torch_version": torch.__version__, "shims": shims, "threads": args.threads,
        **figures, "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1)}))


if __name__ == "__main__":
    main()
