#!/usr/bin/python3
"""The reference BS-RoFormer / Mel-Band RoFormer separation, for comparison.

Runs the reference code itself (ZFTurbo Music-Source-Separation-Training:
models/bs_roformer/{bs_roformer,mel_band_roformer,attend}.py and
utils/model_utils.py's demix) from a checkout given by --reference-src DIR,
e.g. `git -C REPO archive HEAD models/bs_roformer utils configs | tar -x -C DIR`.
Nothing of theirs is copied here. Run by roformer-benchmark --reference-src DIR,
or by hand. Not a test, never used by the product. Needs Debian's python3-torch,
python3-numpy and python3-yaml (/usr/bin/python3); python3-tqdm and
python3-packaging are used when installed. The reference's other imports
(einops, rotary_embedding_torch, beartype, librosa.filters.mel, ml_collections)
are served, where not installed, by the stand-ins in reference_shims/ next to
this file (the JSON names those used); --check-fixtures proves them right.

    reference_roformer_demix.py --reference-src DIR --config MODEL.yaml \
        --input MIX.wav [--output VOCALS.wav] [--threads 2] [--seed 0] [--batch-size 1]
        The architecture of MODEL.yaml with random weights (torch.manual_seed(seed)
        before construction), demix of the WAV (16-bit PCM or 32-bit float) as the
        reference runs it, the first output stem written as a 32-bit float WAV.
        Prints one JSON object: load and compute seconds (wall clock, and the
        CPU time of the compute), peak RSS (getrusage).
        inference.batch_size is 1 unless --batch-size says otherwise (the same
        results as ours; batch 4 of the community configs changes the fades).
        flash_attn is forced off: torch < 2.0 has no scaled_dot_product_attention
        and the reference asserts on it (on torch >= 2 it only picks the kernel).

    reference_roformer_demix.py --reference-src DIR --check-fixtures FIXTURES_DIR
        Loads FIXTURES_DIR's bs-tiny and mel-tiny (.yaml, .ckpt with strict keys),
        runs their forward on the first 2 s of mix.wav and demix of all of it on
        one thread, and compares with the .forward.npy and .demix.npy files (and
        Mel's freq_indices and num_bands_per_freq). Prints JSON; exits 1 unless
        every comparison is exact or above 130 dB SNR.
"""
import argparse
import importlib.util
import json
import math
import os
import resource
import sys
import time
import types
import wave

HERE = os.path.dirname(os.path.abspath(__file__))
SHIMS = os.path.join(HERE, "reference_shims")
SHIMMED_MODULES = ["einops", "rotary_embedding_torch", "beartype", "librosa", "ml_collections", "tqdm", "packaging"]
REQUIRED_SNR_DB = 130.0


def install_reference(reference_src):
    """Makes the reference's models.bs_roformer.* and utils.model_utils importable
    without running their package __init__ files (which import every model of the
    repository), with the stand-ins after the installed packages on sys.path."""
    for folder in ("models/bs_roformer", "utils"):
        if not os.path.isdir(os.path.join(reference_src, folder)):
            raise SystemExit(f"{reference_src}: no {folder}/ (a checkout of Music-Source-Separation-Training?)")
    sys.path.append(SHIMS)
    for package, folder in (("models", "models"), ("models.bs_roformer", "models/bs_roformer"),
                            ("utils", "utils")):
        module = types.ModuleType(package)
        module.__path__ = [os.path.join(reference_src, folder)]
        sys.modules[package] = module
    return [name for name in SHIMMED_MODULES
            if (importlib.util.find_spec(name).origin or "").startswith(SHIMS + os.sep)]


def model_class(model_type):
    if model_type == "bs_roformer":
        from models.bs_roformer.bs_roformer import BSRoformer
        return BSRoformer
    if model_type == "mel_band_roformer":
        from models.bs_roformer.mel_band_roformer import MelBandRoformer
        return MelBandRoformer
    raise SystemExit(f"unknown model type {model_type!r} (bs_roformer or mel_band_roformer)")


def load_config(path):
    import yaml
    from ml_collections import ConfigDict
    with open(path) as f:
        return ConfigDict(yaml.load(f, Loader=yaml.FullLoader))


def model_type_of(config):
    return "bs_roformer" if "freqs_per_bands" in config.model else "mel_band_roformer"


def build_model(config, model_type):
    """The reference's own construction (utils/settings.py: Class(**config.model)), eval mode."""
    arguments = dict(config.model)
    arguments["flash_attn"] = False
    return model_class(model_type)(**arguments).eval()


def read_wav(path):
    """A 16-bit PCM (as librosa.load gives it: int16 / 32768) or 32-bit float WAV as
    a float32 numpy array (channels, frames) and its rate."""
    import numpy as np
    try:
        with wave.open(path, "rb") as f:
            if f.getsampwidth() != 2:
                raise SystemExit(f"{path}: {8 * f.getsampwidth()}-bit PCM, not 16-bit")
            frames = np.frombuffer(f.readframes(f.getnframes()), dtype="<i2").reshape(-1, f.getnchannels())
            return (frames.T.astype(np.float32) / 32768.0), f.getframerate()
    except wave.Error:  # not PCM: the float format upstream_apply_model.py reads
        sys.path.insert(0, HERE)
        from upstream_apply_model import read_float_wav
        audio, rate = read_float_wav(path)
        return audio.numpy().copy(), rate


def write_wav(path, audio, rate):
    import numpy as np
    import torch
    sys.path.insert(0, HERE)
    from upstream_apply_model import write_float_wav
    write_float_wav(path, torch.from_numpy(np.ascontiguousarray(audio, dtype="float32")), rate)


def current_rss_mib():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / (1024.0 * 1024.0)


def cpu_seconds():
    """User and system CPU time of this process so far, all threads."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def snr_db(reference, estimate):
    import numpy as np
    reference, estimate = np.asarray(reference, np.float64), np.asarray(estimate, np.float64)
    error = float(np.sum((reference - estimate) ** 2))
    return math.inf if error == 0 else 10 * math.log10(float(np.sum(reference ** 2)) / error)


def separate(args):
    import numpy as np
    import torch
    from utils.model_utils import demix

    torch.set_num_threads(args.threads)
    config = load_config(args.config)
    model_type = args.model_type or model_type_of(config)
    if args.batch_size:
        config.inference.batch_size = args.batch_size
    start = time.perf_counter()
    torch.manual_seed(args.seed)
    model = build_model(config, model_type)
    load_s = time.perf_counter() - start
    parameters = sum(p.numel() for p in model.parameters())
    loaded_rss = current_rss_mib()
    mix, rate = read_wav(args.input)
    if rate != config.audio.sample_rate:
        raise SystemExit(f"{args.input}: {rate} Hz, the model takes {config.audio.sample_rate} Hz")
    start, start_cpu = time.perf_counter(), cpu_seconds()
    stems = demix(config, model, mix, torch.device("cpu"), model_type)
    compute_s, compute_cpu_s = time.perf_counter() - start, cpu_seconds() - start_cpu
    vocals = next(iter(stems.values()))
    if args.output:
        write_wav(args.output, vocals, rate)
    seconds = mix.shape[-1] / rate
    return {"model_type": model_type, "parameters": parameters, "threads": args.threads,
            "batch_size": config.inference.batch_size, "stem": next(iter(stems)),
            "audio_seconds": round(seconds, 3), "load_seconds": round(load_s, 3),
            "compute_seconds": round(compute_s, 3), "compute_per_audio_second": round(compute_s / seconds, 4),
            "compute_cpu_seconds": round(compute_cpu_s, 3),
            "rss_after_load_mib": round(loaded_rss, 1), "output_peak": float(np.abs(vocals).max())}


def load_state(path):
    import torch
    state = torch.load(path, map_location="cpu")
    for key in ("state", "state_dict", "model_state_dict", "model"):
        if isinstance(state, dict) and key in state and isinstance(state[key], dict):
            state = state[key]
    return state


def check_fixtures(args):
    """The reference with the stand-ins against the fixtures the reference made with the real packages."""
    import numpy as np
    import torch
    from utils.model_utils import demix

    torch.set_num_threads(1)
    fixtures = args.check_fixtures
    mix, _ = read_wav(os.path.join(fixtures, "mix.wav"))
    checks, ok = [], True

    def record(name, expected, actual):
        nonlocal ok
        expected, actual = np.asarray(expected), np.asarray(actual)
        same_shape = expected.shape == actual.shape
        exact = same_shape and np.array_equal(expected, actual)
        snr = snr_db(expected, actual) if same_shape else -math.inf
        passed = exact or snr > REQUIRED_SNR_DB
        ok = ok and passed
        checks.append({"check": name, "shape": list(actual.shape), "exact": exact,
                       "max_abs_difference": float(np.max(np.abs(expected - actual))) if same_shape else None,
                       "snr_db": None if math.isinf(snr) else round(snr, 1), "passed": passed})

    for name in ("bs-tiny", "mel-tiny"):
        config = load_config(os.path.join(fixtures, name + ".yaml"))
        model_type = model_type_of(config)
        model = model_class(model_type)(**dict(config.model)).eval()
        model.load_state_dict(load_state(os.path.join(fixtures, name + ".ckpt")), strict=True)
        if model_type == "mel_band_roformer":
            for buffer in ("freq_indices", "num_bands_per_freq"):
                record(f"{name} {buffer}", np.load(os.path.join(fixtures, f"{name}.{buffer}.npy")),
                       getattr(model, buffer).numpy())
        with torch.no_grad():
            forward = model(torch.from_numpy(mix[None, :, :88200].copy())).numpy()
        record(f"{name} forward", np.load(os.path.join(fixtures, name + ".forward.npy")), forward)
        demixed = demix(config, model, mix, torch.device("cpu"), model_type)["vocals"]
        record(f"{name} demix", np.load(os.path.join(fixtures, name + ".demix.npy")), demixed)
    return {"fixtures": fixtures, "required_snr_db": REQUIRED_SNR_DB, "checks": checks, "passed": ok}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reference-src", required=True, help="checkout of Music-Source-Separation-Training")
    parser.add_argument("--config", help="the model's YAML (e.g. DIR/configs/viperx/...yaml)")
    parser.add_argument("--model-type", choices=["bs_roformer", "mel_band_roformer"],
                        help="default: bs_roformer when the YAML has freqs_per_bands")
    parser.add_argument("--input", help="the mix: 16-bit PCM or 32-bit float WAV at the model's rate")
    parser.add_argument("--output", help="the first stem as a 32-bit float WAV")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch-size", type=int, default=1, help="inference.batch_size; 0: the YAML's")
    parser.add_argument("--check-fixtures", metavar="DIR", help="compare with the golden fixtures in DIR")
    args = parser.parse_args()
    if not args.check_fixtures and not (args.config and args.input):
        parser.error("--config and --input (or --check-fixtures DIR)")
    shims = install_reference(args.reference_src)
    import torch

    figures = check_fixtures(args) if args.check_fixtures else separate(args)
    print(json.dumps({"implementation": "reference", "torch_version": torch.__version__, "shims": shims,
                      **figures, "peak_rss_mib": round(peak_rss_mib(), 1)}))
    return 0 if figures.get("passed", True) else 1


if __name__ == "__main__":
    sys.exit(main())
