// Precompiled header: LibTorch's ATen headers take seconds to parse per file.
#include <ATen/ATen.h>
