// The example provider: the "everything" fixtures that the official MCP
// conformance suite calls (tools test_*, resources test://..., prompts
// test_*), plus `echo` for benchmarks. `litemcp --examples` serves them.
#pragma once

#include "server/rpc/provider.h"

namespace litemcp::examples {

void register_everything(server::registry& r);
// The 2026-07-28 fixtures (input_required, tasks, diagnostics); part of
// register_everything (task_fixtures.cpp).
void register_2026_fixtures(server::registry& r);

// Helpers both fixture files use: a tool result of one text item, and the
// input schema of a tool without arguments.
server::json text_result(std::string text);
server::json empty_schema();

}  // namespace litemcp::examples
