// Precompiled header: LibTorch's ATen headers take seconds to parse per file.
#pragma once
#include <ATen/ATen.h>
