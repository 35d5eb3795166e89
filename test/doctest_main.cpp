// The main of every unit-test binary: a child scenario when the test spawned
// itself (store/child_process.h), doctest otherwise.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include "store/child_process.h"

int main(int argc, char** argv) {
    litemcp::test::run_child_scenario_if_asked();
    doctest::Context context(argc, argv);
    return context.run();
}
