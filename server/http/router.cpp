#include "server/http/router.h"

#include "server/http/request_checks.h"

namespace litemcp::server::http {

void router::add(std::string_view method, std::string_view pattern, std::string summary, route_handler handler) {
    routes_.push_back({std::string(method), std::string(pattern), std::move(summary)});
    // Split as written: "{name}" is not a URL character, and patterns are
    // not percent-encoded.
    std::vector<std::string> segments;
    for (std::size_t start = 0; start < pattern.size();) {
        auto slash = pattern.find('/', start);
        if (slash == std::string_view::npos) slash = pattern.size();
        if (slash > start) segments.emplace_back(pattern.substr(start, slash - start));
        start = slash + 1;
    }
    patterns_.push_back(std::move(segments));
    handlers_.push_back(std::move(handler));
}

router::match router::find(std::string_view method, const std::vector<std::string>& segments) const {
    match out;
    for (std::size_t i = 0; i < routes_.size(); ++i) {
        const auto& p = patterns_[i];
        if (p.size() != segments.size()) continue;
        route_args args;
        bool fits = true;
        for (std::size_t k = 0; k < p.size() && fits; ++k) {
            if (p[k].size() > 2 && p[k].front() == '{' && p[k].back() == '}') args.push_back(segments[k]);
            else fits = p[k] == segments[k];
        }
        if (!fits) continue;
        if (routes_[i].method == method) {
            out.handler = &handlers_[i];
            out.args = std::move(args);
            out.allow.clear();
            return out;
        }
        if (out.allow.find(routes_[i].method) == std::string::npos) {
            if (!out.allow.empty()) out.allow += ", ";
            out.allow += routes_[i].method;
        }
    }
    return out;
}

void router::serve(transport::http_request& req, const std::shared_ptr<transport::responder>& res, json_style style,
                   std::string_view hint) const {
    auto segments = path_segments(req.path);
    if (!segments) return res->respond(problem(400, "the path is not a valid URL path", style));
    auto found = find(req.method, *segments);
    if (found.handler) return (*found.handler)(req, found.args, res);
    if (found.allow.empty()) return res->respond(problem(404, not_found_message(req) + std::string(hint), style));
    auto r = problem(405, not_allowed_message(req), style);
    r.headers.set("Allow", found.allow);
    res->respond(std::move(r));
}

std::string not_found_message(const transport::http_request& req) { return "no endpoint at " + req.path; }

std::string not_allowed_message(const transport::http_request& req) {
    return "method " + req.method + " is not allowed on " + req.path;
}

}  // namespace litemcp::server::http
