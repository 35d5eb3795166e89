// litemcp with the example tools, resources and prompts that `--examples`
// serves (the official conformance suite's fixtures): the default build.
#include "examples/everything_provider.h"
#include "server/app/program.h"

int main(int argc, char** argv) {
    return litemcp::server::run(argc, argv,
                                {.examples = litemcp::examples::register_everything, .allocator = LITEMCP_ALLOCATOR});
}
