// Sets (or unsets) an environment variable for the life of a test, then puts
// back what was there.
#pragma once

#include <glib.h>

#include <optional>
#include <string>

namespace demucs {

class ScopedEnvironmentVariable {
 public:
  /// value == std::nullopt unsets the variable.
  ScopedEnvironmentVariable(std::string name, const std::optional<std::string> &value)
      : name_(std::move(name)) {
    if (const char *old = g_getenv(name_.c_str())) old_value_ = old;
    if (value)
      g_setenv(name_.c_str(), value->c_str(), TRUE);
    else
      g_unsetenv(name_.c_str());
  }
  ~ScopedEnvironmentVariable() {
    if (old_value_)
      g_setenv(name_.c_str(), old_value_->c_str(), TRUE);
    else
      g_unsetenv(name_.c_str());
  }
  ScopedEnvironmentVariable(const ScopedEnvironmentVariable &) = delete;
  ScopedEnvironmentVariable &operator=(const ScopedEnvironmentVariable &) = delete;

 private:
  std::string name_;
  std::optional<std::string> old_value_;
};

}  // namespace demucs
