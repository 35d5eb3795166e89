#include "server/http/answers.h"

#include "server/rpc/json_rpc.h"
#include "server/json/json_text.h"

namespace litemcp::server::http {

transport::http_response json_answer(unsigned status, const json& body, json_style style) {
    transport::http_response r;
    r.status = status;
    r.headers.set("Content-Type", "application/json");
    r.body = style == json_style::pretty ? to_json(body, 2) + "\n" : to_json(body);
    return r;
}

transport::http_response problem(unsigned status, std::string message, json_style style) {
    return json_answer(status, json{{"error", std::move(message)}}, style);
}

transport::http_response rpc_answer(unsigned status, const json& message) { return json_answer(status, message); }

transport::http_response rpc_answer_text(unsigned status, std::string text) {
    transport::http_response r;
    r.status = status;
    r.headers.set("Content-Type", "application/json");
    r.body = std::move(text);
    return r;
}

transport::http_response rpc_error(unsigned status, const json& id, int code, std::string_view message,
                                   std::optional<json> data) {
    return json_answer(status, make_error(id, code, message, std::move(data)));
}

}  // namespace litemcp::server::http
