// The route table shared by /workers/ and /admin/: matching, captures, and
// the one 404/405 rule (server/http/router.h).
#include <doctest/doctest.h>

#include "server/http/request_checks.h"
#include "server/http/router.h"

using namespace litemcp;
using namespace litemcp::server::http;

namespace {

router sample(std::string& hit) {
    router r;
    auto mark = [&hit](std::string name) {
        return [&hit, name](transport::http_request&, const route_args& a, const std::shared_ptr<transport::responder>&) {
            hit = name;
            for (auto& v : a) hit += ":" + v;
        };
    };
    r.add("GET", "/admin/sessions", "list", mark("list"));
    r.add("GET", "/admin/sessions/{id}", "one", mark("one"));
    r.add("DELETE", "/admin/sessions/{id}", "end", mark("end"));
    r.add("POST", "/admin/workers/{name}/dead-letters/{offset}/requeue", "requeue", mark("requeue"));
    return r;
}

std::string run(const router& r, std::string& hit, std::string_view method, std::string_view path) {
    hit.clear();
    auto m = r.find(method, path_segments(path).value());
    if (!m.handler) return m.allow.empty() ? "404" : "405 " + m.allow;
    transport::http_request req;
    (*m.handler)(req, m.args, nullptr);
    return hit;
}

}  // namespace

TEST_CASE("a route matches by method and segments and captures its {parts}") {
    std::string hit;
    auto r = sample(hit);
    CHECK(run(r, hit, "GET", "/admin/sessions") == "list");
    CHECK(run(r, hit, "GET", "/admin/sessions/") == "list");  // a trailing slash is no new segment
    CHECK(run(r, hit, "GET", "/admin/sessions/abc") == "one:abc");
    CHECK(run(r, hit, "DELETE", "/admin/sessions/abc") == "end:abc");
    CHECK(run(r, hit, "GET", "/admin/sessions/a%20b") == "one:a b");  // decoded
    CHECK(run(r, hit, "POST", "/admin/workers/calc/dead-letters/7/requeue") == "requeue:calc:7");
    CHECK(r.routes().size() == 4);
}

TEST_CASE("404 when no pattern fits the path, 405 with Allow when others' methods do") {
    std::string hit;
    auto r = sample(hit);
    CHECK(run(r, hit, "GET", "/admin/nothing") == "404");
    CHECK(run(r, hit, "GET", "/admin/sessions/abc/more") == "404");
    CHECK(run(r, hit, "POST", "/admin/sessions") == "405 GET");
    CHECK(run(r, hit, "PUT", "/admin/sessions/abc") == "405 GET, DELETE");
    CHECK(run(r, hit, "GET", "/admin/workers/calc/dead-letters/7/requeue") == "405 POST");
}

TEST_CASE("the one wording of 404 and 405") {
    transport::http_request req;
    req.method = "PATCH";
    req.path = "/workers/calc";
    CHECK(not_found_message(req) == "no endpoint at /workers/calc");
    CHECK(not_allowed_message(req) == "method PATCH is not allowed on /workers/calc");
}
