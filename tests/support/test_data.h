// Where the tests find their data.
#pragma once

#include <string>

namespace demucs::testing {

// A file in tests/data/ (DEMUCS_TEST_DATA, set by meson).
std::string test_data(const std::string& name);

// A file in ../shared/fixtures (DEMUCS_SHARED_FIXTURES), or "" when that folder
// is absent: large reference data that the project does not copy.
std::string shared_fixture(const std::string& name);

}  // namespace demucs::testing
