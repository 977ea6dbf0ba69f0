// Fuzzes the Host and Origin parsing of AccessPolicy. The input is split at
// its first newline into a Host header and an Origin header. Asserts that
// no Origin header means Origin::none and that normalize_origin gives "" or
// an http(s) origin. (A same-origin request with a refused Host is possible
// and harmless: host_allowed is checked first, with 421.)
#include "access_policy.h"
#include "fuzz_check.h"

#include <cstddef>
#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const std::string input(reinterpret_cast<const char *>(data), size);
  const std::size_t newline = input.find('\n');
  const std::string host = input.substr(0, newline);
  const std::string origin = newline == std::string::npos ? "" : input.substr(newline + 1);

  demucs::AccessSettings settings;
  settings.allowed_hosts = {"separator.example.org"};
  settings.cors_origins = {"https://app.example"};
  const demucs::AccessPolicy policy(settings);

  const bool allowed = policy.host_allowed(host.c_str());
  const auto kind = policy.classify_origin(origin.c_str(), host.c_str());
  (void)allowed;
  (void)kind;
  FUZZ_CHECK(policy.classify_origin(nullptr, host.c_str()) == demucs::AccessPolicy::Origin::none);
  (void)policy.classify_origin(origin.c_str(), nullptr);
  (void)policy.host_allowed(nullptr);
  (void)demucs::AccessPolicy::is_loopback_host(host);

  const std::string normalized = demucs::AccessPolicy::normalize_origin(origin);
  FUZZ_CHECK(normalized.empty() || normalized.rfind("http://", 0) == 0 || normalized.rfind("https://", 0) == 0);
  (void)policy.is_cors_origin(origin);
  return 0;
}
