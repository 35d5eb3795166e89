// The worker API's bodies (server/workers/worker_api.cpp) on any JSON text:
// the JSON-RPC message an instance POSTs about a call, read by
// worker_messages::report_of and its body checked against
// schemas/worker-<action>.json (the schemas compiled into the binary, as the
// server compiles them); the same text as a registration checked against
// schemas/worker-register.json; and a delivered call read back by read_call
// (the connector). For every text:
//
//  * nothing throws, crashes or leaks, the schema checks included;
//  * report_of names one of the hub's actions; a response is about the call
//    it was posted to; an "ask" carries a string method;
//  * a call request built by call_request for the message's method and
//    params reads back by read_call as that call: id, method, attempt,
//    deadline and the params with litemcp's _meta keys.
#include <algorithm>
#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "schemas/schemas.h"
#include "server/json/json_schema.h"
#include "server/json/json_text.h"
#include "server/workers/worker_messages.h"
#include "test/fuzz/fuzz_check.h"

namespace {

using namespace litemcp::server;
namespace messages = litemcp::server::worker_messages;

constexpr std::string_view call_id = "c-0123456789abcdef";

// As mcp_server.cpp compiles them for the worker API.
const std::map<std::string, std::shared_ptr<const json_schema>>& api_schemas() {
    static const auto schemas = [] {
        std::map<std::string, std::shared_ptr<const json_schema>> out;
        for (const char* name : {"worker-register", "worker-progress", "worker-log", "worker-result", "worker-error",
                                 "worker-failure", "worker-suspend", "worker-extend"}) {
            const auto text = litemcp::schemas::find(name);
            FUZZ_CHECK(text.has_value());
            const auto doc = parse_json(*text);
            FUZZ_CHECK(doc.has_value());
            auto compiled = json_schema::compile(*doc);
            FUZZ_CHECK(compiled.has_value());
            out[name] = std::move(*compiled);
        }
        return out;
    }();
    return schemas;
}

void check_report(const json& message) {
    const auto report = messages::report_of(message, call_id);
    if (!report) {
        FUZZ_CHECK(!report.error().empty());
        return;
    }
    static constexpr std::array<std::string_view, 8> actions{"result",  "error",   "progress", "log",
                                                             "failure", "suspend", "extend",   "ask"};
    FUZZ_CHECK(std::find(actions.begin(), actions.end(), report->action) != actions.end());
    if (report->action == "result" || report->action == "error") FUZZ_CHECK(message["id"] == std::string(call_id));
    if (report->action == "ask") {
        FUZZ_CHECK(report->body["method"].is_string());
        return;  // relayed to the client, not checked against a schema
    }
    if (const auto problem = api_schemas().at("worker-" + report->action)->validate(report->body))
        FUZZ_CHECK(!problem->empty());
}

void check_delivery(const json& message, std::size_t size) {
    if (const auto call = messages::read_call(message)) FUZZ_CHECK(call->attempt >= 1);
    if (!message.is_object() || !message.contains("method") || !message["method"].is_string()) return;
    const auto& method = message["method"].get_ref<const std::string&>();
    if (method.empty()) return;
    const json params = message.value("params", json::object());
    const unsigned attempt = 1 + static_cast<unsigned>(size % 7);
    const std::uint64_t deadline = size * 1000003u;
    const json request = messages::call_request(std::string(call_id), method, params, attempt, deadline);
    const auto back = messages::read_call(request);
    FUZZ_CHECK(back.has_value());
    FUZZ_CHECK(back->id == call_id && back->method == method);
    FUZZ_CHECK(back->attempt == attempt && back->deadline_ms == deadline && messages::deadline_of(request) == deadline);
    FUZZ_CHECK(back->params.is_object() && back->params["_meta"][messages::delivery_id_key] == std::string(call_id));
    if (params.is_object())
        for (const auto& [key, value] : params.items())
            if (key != "_meta") FUZZ_CHECK(back->params[key] == value);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto message = parse_json(std::string_view(reinterpret_cast<const char*>(data), size));
    if (!message) return 0;  // a 400 before anything is read
    check_report(*message);
    if (const auto problem = api_schemas().at("worker-register")->validate(*message)) FUZZ_CHECK(!problem->empty());
    check_delivery(*message, size);
    return 0;
}
