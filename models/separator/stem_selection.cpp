#include "separator/stem_selection.h"

#include <algorithm>
#include <stdexcept>

namespace demucs {

namespace {
std::string joined(const std::vector<std::string>& names) {
  std::string text;
  for (const std::string& name : names) {
    text += (text.empty() ? "" : ", ") + name;
  }
  return text;
}
}  // namespace

StemSelection select_stems(const ModelBag& bag, const std::vector<std::string>& stems) {
  const std::vector<std::string>& sources = bag.front().model->sources();
  StemSelection selection;
  selection.names = stems.empty() ? sources : stems;
  for (const std::string& name : selection.names) {
    const auto found = std::find(sources.begin(), sources.end(), name);
    if (found == sources.end()) {
      throw std::invalid_argument("separator: unknown stem '" + name +
                                  "'; the model separates " + joined(sources));
    }
    const std::int64_t index = found - sources.begin();
    if (std::find(selection.source_index.begin(), selection.source_index.end(), index) !=
        selection.source_index.end()) {
      throw std::invalid_argument("separator: stem '" + name + "' is requested twice");
    }
    selection.source_index.push_back(index);
  }

  selection.totals.assign(selection.names.size(), 0.0);
  for (std::size_t model = 0; model < bag.size(); ++model) {
    std::vector<double> weights;
    bool runs = false;
    for (std::size_t stem = 0; stem < selection.names.size(); ++stem) {
      const double weight = bag[model].weights[selection.source_index[stem]];
      weights.push_back(weight);
      selection.totals[stem] += weight;  // upstream: totals[k] += inst_weight, in bag order
      runs = runs || weight != 0.0;
    }
    if (runs) {
      selection.running_models.push_back(model);
      selection.weights.push_back(std::move(weights));
    }
  }
  for (std::size_t stem = 0; stem < selection.names.size(); ++stem) {
    if (selection.totals[stem] == 0.0) {
      throw std::invalid_argument("separator: stem '" + selection.names[stem] +
                                  "' has weight 0 in every model of the bag");
    }
  }
  selection.single_model =
      bag.size() == 1 && std::all_of(selection.weights.front().begin(),
                                     selection.weights.front().end(),
                                     [](double weight) { return weight == 1.0; });
  return selection;
}

}  // namespace demucs
