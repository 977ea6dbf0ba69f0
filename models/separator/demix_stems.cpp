#include "separator/demix_stems.h"

#include "demucs/demucs.h"  // kInstrumentalStem

#include <algorithm>
#include <stdexcept>

namespace demucs {

namespace {

std::int64_t index_of(const std::vector<std::string>& names, const std::string& name) {
  const auto found = std::find(names.begin(), names.end(), name);
  return found == names.end() ? -1 : static_cast<std::int64_t>(found - names.begin());
}

std::string listed(const std::vector<std::string>& names) {
  std::string text;
  for (const std::string& name : names) {
    text += (text.empty() ? "" : ", ") + name;
  }
  return text;
}

// The accumulated row of model source `source`, added on first use.
std::int64_t accumulated_row(DemixStems& stems, std::int64_t source) {
  const auto found = std::find(stems.sources.begin(), stems.sources.end(), source);
  if (found != stems.sources.end()) {
    return static_cast<std::int64_t>(found - stems.sources.begin());
  }
  stems.sources.push_back(source);
  return static_cast<std::int64_t>(stems.sources.size()) - 1;
}

}  // namespace

DemixStems select_demix_stems(const std::vector<std::string>& sources, const std::vector<std::string>& requested) {
  const std::vector<std::string>& names = requested.empty() ? sources : requested;
  std::vector<std::string> valid = sources;
  const std::int64_t vocals = index_of(sources, "vocals");
  if (vocals >= 0) {
    valid.push_back(kInstrumentalStem);
  }
  DemixStems stems;
  for (const std::string& name : names) {
    if (index_of(stems.names, name) >= 0) {
      throw std::invalid_argument("demix: stem " + name + " is requested twice");
    }
    const bool instrumental = name == kInstrumentalStem;
    const std::int64_t source = instrumental ? vocals : index_of(sources, name);
    if (source < 0) {
      throw std::invalid_argument("demix: the model has no stem " + name + " (valid: " + listed(valid) + ")");
    }
    stems.names.push_back(name);
    stems.row.push_back(accumulated_row(stems, source));
    stems.instrumental.push_back(instrumental ? 1 : 0);
  }
  return stems;
}

}  // namespace demucs
