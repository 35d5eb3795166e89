// What a fuzz target does when one of its properties does not hold: it says
// which, then aborts, so libFuzzer keeps the input as a crash artifact and
// the replay test fuzz/<name> fails on it.
#pragma once

#include <cstdio>
#include <cstdlib>

namespace litemcp::fuzz {

[[noreturn]] inline void property_failed(const char* what, const char* file, int line) {
    std::fprintf(stderr, "%s:%d: property does not hold: %s\n", file, line, what);
    std::abort();
}

}  // namespace litemcp::fuzz

// A macro for the text of the condition in the message.
#define FUZZ_CHECK(condition) \
    ((condition) ? void() : ::litemcp::fuzz::property_failed(#condition, __FILE__, __LINE__))
