// The litemcp program: settings, logging, signals, start and stop. main()
// is a few lines that call run(); a build that includes examples/ passes its
// registration hook, so the product depends on nothing in examples/ and the
// arrow points from the examples to the server.
//
// Threading: run() blocks the calling thread until SIGINT or SIGTERM.
#pragma once

#include <functional>

#include "server/rpc/provider.h"

namespace litemcp::server {

struct program_hooks {
    // Registers the example tools, resources and prompts that `--examples`
    // serves (the conformance fixtures). Default: none; `--examples` is then
    // refused with a clear message.
    std::function<void(registry&)> examples;
    // The malloc linked into the executable (meson option 'allocator'), for
    // the start-up log. Default: "system".
    const char* allocator = "system";
};

// Runs litemcp with the command line argv; returns the process's exit code
// (0 after a signal, 1 when it cannot start, 2 for bad settings).
int run(int argc, char** argv, const program_hooks& hooks = {});

}  // namespace litemcp::server
