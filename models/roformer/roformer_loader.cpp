// A RoFormer from its two files: configuration first (cheap, and what most
// mistakes are about), then the weights, then the network checks that they fit.
#include "roformer/roformer_loader.h"

#include "roformer/roformer_checkpoint.h"
#include "roformer/roformer_config_file.h"

#include <filesystem>
#include <system_error>
#include <utility>

namespace demucs {

namespace {

bool is_regular_file(const std::string& path) {
  std::error_code error;
  return std::filesystem::is_regular_file(path, error);
}

}  // namespace

std::string default_roformer_config_path(const std::string& checkpoint) {
  return std::filesystem::path(checkpoint).replace_extension(".yaml").string();
}

std::shared_ptr<Roformer> load_roformer(const std::string& checkpoint, const std::string& config, at::Device device,
                                        Precision precision, const std::string& model_type) {
  if (!is_regular_file(checkpoint)) throw ModelNotFoundError("model file " + checkpoint + " does not exist");
  const std::string config_path = config.empty() ? default_roformer_config_path(checkpoint) : config;
  if (!is_regular_file(config_path)) {
    throw ModelNotFoundError(
        "the RoFormer checkpoint " + checkpoint + " needs its YAML configuration, and " + config_path +
        " does not exist" +
        (config.empty() ? " (the default: the checkpoint's name with .yaml)" : std::string()) +
        "; name the configuration with --config FILE (the element's property config=FILE)");
  }
  const RoformerConfig settings = read_roformer_config(config_path, model_type);
  std::map<std::string, at::Tensor> state = read_roformer_state(checkpoint);
  return Roformer::from_state(settings, std::move(state), checkpoint, device, precision);
}

}  // namespace demucs
