// FUZZ_CHECK: a property a fuzz target asserts. It traps (libFuzzer and the
// replay runner both report the input) rather than throwing or logging.
#pragma once

#include <cstdio>

#define FUZZ_CHECK(condition)                                                        \
  do {                                                                               \
    if (!(condition)) {                                                              \
      std::fprintf(stderr, "%s:%d: property violated: %s\n", __FILE__, __LINE__, #condition); \
      __builtin_trap();                                                              \
    }                                                                                \
  } while (0)
