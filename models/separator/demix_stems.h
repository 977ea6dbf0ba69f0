// The rows a DemixSeparator outputs: sources of the model, or "instrumental",
// the mix minus the model's "vocals" (what single-target vocal models leave).
// Only the sources some row needs are accumulated.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace demucs {

struct DemixStems {
  std::vector<std::string> names;          // output rows, in order
  std::vector<std::int64_t> sources;       // model source index of each accumulated row
  // Per output row: the accumulated row it is, or (instrumental) the
  // accumulated row subtracted from the mix.
  std::vector<std::int64_t> row;
  std::vector<char> instrumental;
};

// requested empty = every source in the model's order. Throws
// std::invalid_argument for an unknown or repeated stem, or "instrumental"
// when the model has no "vocals" (the message lists the valid stems).
DemixStems select_demix_stems(const std::vector<std::string>& sources, const std::vector<std::string>& requested);

}  // namespace demucs
