// answer_interrupted: a request recorded as started and never answered gets
// exactly one error final on its stream; running or answered ones are left
// alone. A store in a temporary folder, no server, no sockets.
#include <doctest/doctest.h>

#include "server/sessions/interrupted_request.h"
#include "server/json/json_text.h"
#include "server/sessions/session_log.h"
#include "test_util.h"

using namespace litemcp;
using namespace litemcp::server;

namespace {

struct fixture {
    test::temp_dir dir;
    std::unique_ptr<store::store> st;
    session_state s;

    fixture() {
        auto o = test::small_options(dir.path());
        store::topic_policy session;
        session.max_record_size = 8 * 1024;
        o.parents.push_back({"mcp.session", session});
        st = test::open_store(o);
        s.id = "abc";
        s.topic = "mcp.session/abc";
    }
    std::uint64_t append(std::string_view tag, const json& msg, std::uint32_t flags = 0) {
        auto ack = st->append(s.topic, session_log::encode(tag, to_json(msg)), flags);
        REQUIRE(ack);
        return ack->offset;
    }
    // The final records of stream `request`, in order.
    std::vector<json> finals(std::uint64_t request) {
        std::vector<json> out;
        auto r = st->read(s.topic, 0, {1000, 1u << 20});
        REQUIRE(r);
        for (auto& rec : r->records) {
            auto e = session_log::decode(rec.payload);
            if ((rec.flags & session_log::flag_final) &&
                session_log::on_stream(e.tag, rec.offset, std::to_string(request)))
                out.push_back(json::parse(e.body));
        }
        return out;
    }
};

json request(int id) {
    return {{"jsonrpc", "2.0"}, {"id", id}, {"method", "tools/call"}, {"params", {{"name", "countdown"}}}};
}

}  // namespace

TEST_CASE("an interrupted request is answered once, with its id and the interrupted code") {
    fixture f;
    const auto n = f.append("", request(7), session_log::flag_client_request);
    f.append(std::to_string(n), make_notification("notifications/progress", {{"progress", 1}}));
    f.append("", request(8), session_log::flag_client_request);  // another stream's request in between

    CHECK(answer_interrupted(*f.st, f.s, n) == interruption_outcome::answered);
    auto fin = f.finals(n);
    REQUIRE(fin.size() == 1);
    CHECK(fin[0]["id"] == 7);
    CHECK(fin[0]["error"]["code"] == rpc_code::request_interrupted);
    CHECK(fin[0]["error"]["data"]["retryable"] == true);
    CHECK(f.s.live_streams.empty());  // the claim is released

    // A second resume finds the final and records nothing more.
    CHECK(answer_interrupted(*f.st, f.s, n) == interruption_outcome::already_answered);
    CHECK(f.finals(n).size() == 1);
}

TEST_CASE("a request answered at once (relative tag) is already answered") {
    fixture f;
    const auto n = f.append("", request(1), session_log::flag_client_request);
    f.append(session_log::relative_tag(1), make_result(1, json::object()), session_log::flag_final);
    CHECK(answer_interrupted(*f.st, f.s, n) == interruption_outcome::already_answered);
    CHECK(f.finals(n).size() == 1);
}

TEST_CASE("a request still running here is left to finish") {
    fixture f;
    const auto n = f.append("", request(1), session_log::flag_client_request);
    f.s.live_streams.insert(n);
    CHECK(answer_interrupted(*f.st, f.s, n) == interruption_outcome::live);
    CHECK(f.finals(n).empty());
    CHECK(f.s.live_streams.contains(n));
}

TEST_CASE("an offset that is not a request record is refused") {
    fixture f;
    f.append("", request(1), session_log::flag_client_request);
    const auto progress = f.append("0", make_notification("notifications/progress", {{"progress", 1}}));
    CHECK(answer_interrupted(*f.st, f.s, progress) == interruption_outcome::failed);
    CHECK(f.finals(progress).empty());
    CHECK(f.s.live_streams.empty());
}
