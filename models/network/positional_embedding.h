// Positional embeddings of the cross-domain transformer (upstream
// transformer.py): 2-D sinusoidal for the spectrogram branch, 1-D sinusoidal
// (or CAPE in eval mode, or learnt "scaled") for the waveform branch.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

namespace demucs {

// create_sin_embedding: (length, 1, dim) with [cos, sin] halves.
at::Tensor sin_embedding(int64_t length, int64_t dim, double max_period, at::Device device);

// create_sin_embedding_cape without augmentation (eval): positions centred
// on their mean when `mean_normalize`. (length, 1, dim).
at::Tensor cape_embedding(int64_t length, int64_t dim, bool mean_normalize, double max_period, at::Device device);

// create_2d_sin_embedding: (1, dim, height, width).
at::Tensor sin_embedding_2d(int64_t dim, int64_t height, int64_t width, double max_period, at::Device device);

}  // namespace demucs
