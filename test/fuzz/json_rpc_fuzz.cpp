// JSON-RPC classification and the message builders (server/rpc/json_rpc.h)
// on any JSON text a client may POST. For every message read (each element
// of a batch too):
//
//  * classify never throws, and what it says holds: a request has a
//    non-empty string method and a string or integer id, a notification no
//    id, a response exactly one of result and error and a valid id; an
//    invalid message comes with a reason;
//  * result_text writes make_result's bytes, for any id and result (the
//    header promises it; the fast path of every answer);
//  * what the builders make of the message classifies as what it is.
#include <cstdint>
#include <string_view>

#include "server/json/json_text.h"
#include "server/rpc/json_rpc.h"
#include "test/fuzz/fuzz_check.h"

namespace {

using namespace litemcp::server;

void check_message(const json& msg) {
    const auto c = classify(msg);
    switch (c.kind) {
        case message_kind::request:
            FUZZ_CHECK(valid_id(msg["id"]) && msg["method"].is_string() && !msg["method"].get<std::string>().empty());
            FUZZ_CHECK(!msg.contains("params") || msg["params"].is_object());
            break;
        case message_kind::notification:
            FUZZ_CHECK(!msg.contains("id") && msg["method"].is_string());
            break;
        case message_kind::response:
            FUZZ_CHECK(valid_id(msg["id"]) && msg.contains("result") != msg.contains("error"));
            break;
        case message_kind::invalid: FUZZ_CHECK(!c.why.empty()); break;
    }

    // Any value as an id and any value as a result.
    const json& id = msg.is_object() && msg.contains("id") ? msg["id"] : msg;
    FUZZ_CHECK(result_text(to_json(id), msg) == to_json(make_result(id, msg)));

    if (c.kind == message_kind::request || c.kind == message_kind::notification) {
        const auto& method = msg["method"].get_ref<const std::string&>();
        const json params = msg.value("params", json());
        if (c.kind == message_kind::request) {
            FUZZ_CHECK(classify(make_request(msg["id"], method, params)).kind == message_kind::request);
            FUZZ_CHECK(classify(make_result(msg["id"], params)).kind == message_kind::response);
            const json answer = make_error(msg["id"], rpc_code::method_not_found, "Method not found: " + method);
            FUZZ_CHECK(classify(answer).kind == message_kind::response);
        } else {
            FUZZ_CHECK(classify(make_notification(method, params)).kind == message_kind::notification);
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto body = parse_json(std::string_view(reinterpret_cast<const char*>(data), size));
    if (!body) return 0;  // answered with a parse error before anything is classified
    check_message(*body);
    if (body->is_array())
        for (const auto& element : *body) check_message(element);
    return 0;
}
