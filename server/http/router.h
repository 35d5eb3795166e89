// One route table per HTTP API: (method, path pattern) -> handler. A pattern
// is a path whose segments are literals or "{name}", which captures one
// percent-decoded segment. find() says which handler serves a request, or why
// none does: no pattern fits the path (404), or patterns fit it under other
// methods (405, with their Allow list). not_found() and method_not_allowed()
// are the one wording of those answers for every API, and serve() the one
// way to answer a request no route serves; each API chooses only the body's
// style (see answers.h).
//
// Threading: add() while building; find() from any thread afterwards.
// Lifetime: owned by the API it routes.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "server/http/answers.h"
#include "transport/http_server.h"

namespace litemcp::server::http {

// The segments a pattern's "{name}" parts captured, in order.
using route_args = std::vector<std::string>;

using route_handler = std::function<void(transport::http_request& req, const route_args& args,
                                         const std::shared_ptr<transport::responder>& res)>;

class router {
public:
    struct route {
        std::string method;
        std::string pattern;
        std::string summary;  // one line for the API's index
    };

    void add(std::string_view method, std::string_view pattern, std::string summary, route_handler handler);

    struct match {
        const route_handler* handler = nullptr;  // null: see allow
        route_args args;
        std::string allow;  // no handler: the methods the path takes ("" when none: 404)
    };
    // segments: the request path's segments (path_segments()).
    match find(std::string_view method, const std::vector<std::string>& segments) const;

    const std::vector<route>& routes() const { return routes_; }

    // Runs the handler of the request's route, or answers what no route
    // serves: 400 for a path that is not a URL path, 404 (with hint after
    // the message, e.g. where the API's index is) or 405 with Allow; the
    // errors are {"error": "..."} bodies in the API's style.
    void serve(transport::http_request& req, const std::shared_ptr<transport::responder>& res, json_style style,
               std::string_view hint = {}) const;

private:
    std::vector<route> routes_;
    std::vector<std::vector<std::string>> patterns_;  // each route's segments
    std::vector<route_handler> handlers_;
};

// "no endpoint at <path>"; "method <M> is not allowed on <path>".
std::string not_found_message(const transport::http_request& req);
std::string not_allowed_message(const transport::http_request& req);

}  // namespace litemcp::server::http
