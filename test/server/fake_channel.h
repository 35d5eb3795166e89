// A reply channel that keeps what it is given, for tests of what runs
// above the channels (the dispatcher, the methods, promotions).
#pragma once

#include <mutex>
#include <optional>
#include <vector>

#include "server/mcp/call.h"
#include "server/mcp/input_rounds.h"

namespace litemcp::test {

class fake_channel : public server::reply_channel {
public:
    using json = server::json;
    explicit fake_channel(server::era rules = server::era::stateful, std::string version = "2025-11-25")
        : rules_(rules), version_(std::move(version)) {}

    // What a test sets.
    json caps = json::object();
    std::string who;
    std::optional<server::log_level> level;  // none: no log messages wanted
    server::call_origin where{server::call_origin::kind::direct, "test", {}};
    std::shared_ptr<server::session_state> session_of;  // a legacy call's session

    // What the channel was given.
    std::vector<json> emitted() const {
        std::lock_guard lock(mu_);
        return emitted_;
    }
    std::optional<server::call_outcome> finished;

    const std::string& version() const override { return version_; }
    const json& capabilities() const override { return caps; }
    const std::string& principal() const override { return who; }
    server::era rules() const override { return rules_; }
    server::call_origin origin() const override { return where; }
    bool wants_log(server::log_level l) const override { return level && l >= *level; }
    server::session_state* session() const override { return session_of.get(); }
    void open(const std::shared_ptr<server::call>&) override {}
    void emit(const std::shared_ptr<server::call>&, const json& msg) override {
        std::lock_guard lock(mu_);
        emitted_.push_back(msg);
    }
    server::rpc_result request(const std::shared_ptr<server::call>& c, std::string method, json params,
                               std::chrono::milliseconds) override {
        return server::request_in_rounds(*c, caps, std::move(method), std::move(params));
    }
    server::input_outcome ask(const std::shared_ptr<server::call>& c, std::vector<server::input_request> in) override {
        return server::ask_in_rounds(*c, caps, std::move(in));
    }
    void finish(const std::shared_ptr<server::call>&, server::call_outcome outcome) override {
        finished = std::move(outcome);
    }

private:
    server::era rules_;
    std::string version_;
    mutable std::mutex mu_;
    std::vector<json> emitted_;
};

}  // namespace litemcp::test
