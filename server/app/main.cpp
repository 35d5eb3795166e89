// litemcp without the example tools: the product as it ships when built with
// `-Dexamples=false`. Settings come from a JSON file, the environment and the
// command line (server/config/settings.h); --help lists them.
#include "server/app/program.h"

int main(int argc, char** argv) { return litemcp::server::run(argc, argv, {.allocator = LITEMCP_ALLOCATOR}); }
