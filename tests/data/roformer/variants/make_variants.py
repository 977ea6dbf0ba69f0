#!/usr/bin/python3
"""Golden data for the RoFormer settings the shared fixtures leave at one value.

The shared fixtures (bs-tiny, mel-tiny) cover the community configurations'
usual settings. These variants switch on what they do not: linear-attention
transformers, skip connections, other mask-estimator depths and MLP widths,
several stems, no zero_dc, a mono model, another hop and window, and
match_input_audio_length. Each variant is a tiny random model built by the
reference code itself (ZFTurbo Music-Source-Separation-Training, from
--reference-src DIR), saved as the community saves it (torch.save of the
state_dict, a YAML beside it), with the reference's forward of a short input.

    /usr/bin/python3 make_variants.py --reference-src DIR [--shims DIR]

--shims: the stand-ins for the reference's third-party imports
(models/benchmark/reference_shims, proven there against the shared fixtures).
Deterministic: running it again gives the same files. Needs Debian's
python3-torch, python3-numpy and python3-yaml.
"""
import argparse
import os
import sys
import types

import numpy as np
import torch
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", "..", ".."))

BS_BANDS = [2] * 24 + [4] * 12 + [12] * 8 + [24] * 8 + [48] * 8 + [128, 129]

COMMON = dict(dim=16, depth=2, time_transformer_depth=1, freq_transformer_depth=1, dim_head=8, heads=2,
              attn_dropout=0.0, ff_dropout=0.0, flash_attn=False, dim_freqs_in=1025, stft_n_fft=2048,
              stft_normalized=False)

VARIANTS = {
    # BS: linear attention, skip connections, a deeper and wider mask MLP, two stems, no zero_dc,
    # a window shorter than the FFT.
    "bs-linear-skip-2stems": ("bs_roformer", dict(
        COMMON, stereo=True, num_stems=2, linear_transformer_depth=1, freqs_per_bands=tuple(BS_BANDS),
        stft_hop_length=512, stft_win_length=1024, zero_dc=False, mask_estimator_depth=3,
        mlp_expansion_factor=2, skip_connection=True), ["vocals", "other"], None),
    # Mel: mono, estimator depth 1 (two Linear layers), another hop, the input's length kept.
    "mel-mono-match-length": ("mel_band_roformer", dict(
        COMMON, stereo=False, num_stems=1, linear_transformer_depth=1, num_bands=32, sample_rate=44100,
        stft_hop_length=512, stft_win_length=2048, zero_dc=True, mask_estimator_depth=1,
        mlp_expansion_factor=3, skip_connection=True, match_input_audio_length=True),
        ["vocals", "other"], "vocals"),
    # Mel with two stems, three transformer blocks, the reference's default length rule.
    "mel-2stems": ("mel_band_roformer", dict(
        COMMON, depth=3, stereo=True, num_stems=2, linear_transformer_depth=0, num_bands=48, sample_rate=44100,
        stft_hop_length=441, stft_win_length=2048, zero_dc=True, mask_estimator_depth=2,
        mlp_expansion_factor=1, skip_connection=False, match_input_audio_length=False),
        ["vocals", "other"], None),
}


def install_reference(reference_src, shims):
    sys.path.append(shims)
    for package, folder in (("models", "models"), ("models.bs_roformer", "models/bs_roformer")):
        module = types.ModuleType(package)
        module.__path__ = [os.path.join(reference_src, folder)]
        sys.modules[package] = module


def model_class(model_type):
    if model_type == "bs_roformer":
        from models.bs_roformer.bs_roformer import BSRoformer
        return BSRoformer
    from models.bs_roformer.mel_band_roformer import MelBandRoformer
    return MelBandRoformer


class TupleDumper(yaml.SafeDumper):
    pass


TupleDumper.add_representer(tuple, lambda dumper, value: dumper.represent_sequence("tag:yaml.org,2002:python/tuple", value))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference-src", required=True)
    parser.add_argument("--shims", default=os.path.join(ROOT, "models", "benchmark", "reference_shims"))
    args = parser.parse_args()
    install_reference(args.reference_src, args.shims)
    torch.set_num_threads(1)
    generator = torch.Generator().manual_seed(7)
    for seed, (name, (model_type, arguments, instruments, target)) in enumerate(sorted(VARIANTS.items()), 300):
        torch.manual_seed(seed)
        model = model_class(model_type)(**arguments).eval()
        with torch.no_grad():
            for parameter_name, parameter in model.named_parameters():
                if parameter_name.endswith("gamma"):
                    parameter.copy_(torch.rand(parameter.shape, generator=generator) + 0.5)
        channels = 2 if arguments["stereo"] else 1
        mix = (torch.rand(1, channels, 5000, generator=generator) - 0.5) * 0.5
        with torch.no_grad():
            output = model(mix)
        torch.save(model.state_dict(), os.path.join(HERE, name + ".ckpt"))
        config = {
            "audio": {"chunk_size": 44100, "num_channels": channels, "sample_rate": 44100},
            "model": arguments,
            "training": {"instruments": instruments, "target_instrument": target},
            "inference": {"batch_size": 1, "num_overlap": 2},
        }
        with open(os.path.join(HERE, name + ".yaml"), "w") as out:
            out.write(f"# {name}: random-weight {model_type} made by make_variants.py (not a trained model)\n")
            yaml.dump(config, out, Dumper=TupleDumper, sort_keys=False)
        np.save(os.path.join(HERE, name + ".input.npy"), mix.numpy())
        np.save(os.path.join(HERE, name + ".forward.npy"), output.numpy())
        print(name, model_type, tuple(output.shape))


if __name__ == "__main__":
    main()
