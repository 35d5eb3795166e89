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

// Keeps the one answer it is given.
class kept_answer : public transport::responder {
public:
    void respond(transport::http_response r) override { answer = std::move(r); }
    std::shared_ptr<transport::sse_stream> start_sse(transport::header_list) override { return nullptr; }
    void respond_events(transport::header_list, std::vector<transport::sse_event>) override {}
    void post(std::function<void()> f) override { f(); }
    void on_disconnect(std::function<void()>) override {}
    std::optional<transport::http_response> answer;
};

}  // namespace

TEST_CASE("serve: the handler, or the one 400/404/405 answer in the API's style") {
    std::string hit;
    auto r = sample(hit);
    auto serve = [&](std::string method, std::string path, json_style style, std::string_view hint = {}) {
        transport::http_request req;
        req.method = std::move(method);
        req.path = std::move(path);
        auto res = std::make_shared<kept_answer>();
        hit.clear();
        r.serve(req, res, style, hint);
        return res->answer;
    };
    CHECK_FALSE(serve("GET", "/admin/sessions/abc", json_style::compact));
    CHECK(hit == "one:abc");
    auto missing = serve("GET", "/admin/nothing", json_style::pretty, " (GET /admin/ lists the API)");
    REQUIRE(missing);
    CHECK(missing->status == 404);
    CHECK(missing->body == "{\n  \"error\": \"no endpoint at /admin/nothing (GET /admin/ lists the API)\"\n}\n");
    auto wrong = serve("PUT", "/admin/sessions/abc", json_style::compact);
    REQUIRE(wrong);
    CHECK(wrong->status == 405);
    CHECK(wrong->headers.get("Allow") == "GET, DELETE");
    CHECK(wrong->body == "{\"error\":\"method PUT is not allowed on /admin/sessions/abc\"}");
    auto bad = serve("GET", "/admin/%zz", json_style::compact);
    REQUIRE(bad);
    CHECK(bad->status == 400);
}

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
