// Assertions on text that say what was looked for and what was there.
#pragma once

#include <gtest/gtest.h>

#include <string>

namespace demucs::testing {

/// EXPECT_TRUE(contains(log, "words")) fails with both texts.
inline ::testing::AssertionResult contains(const std::string &text, const std::string &part) {
  if (text.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "\"" << part << "\" not found in: " << text;
}

}  // namespace demucs::testing
