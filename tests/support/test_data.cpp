#include "support/test_data.h"

#include <cstdlib>
#include <filesystem>

namespace demucs::testing {

std::string test_data(const std::string& name) {
  const char* dir = std::getenv("DEMUCS_TEST_DATA");
  return std::string(dir ? dir : "tests/data") + "/" + name;
}

std::string shared_fixture(const std::string& name) {
  const char* dir = std::getenv("DEMUCS_SHARED_FIXTURES");
  if (dir == nullptr) {
    return "";
  }
  const std::string path = std::string(dir) + "/" + name;
  return std::filesystem::exists(path) ? path : "";
}

}  // namespace demucs::testing
