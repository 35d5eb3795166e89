#include "server/mcp/task_channel.h"

#include "server/mcp/input_rounds.h"

namespace litemcp::server {

task_channel::task_channel(parts p, std::shared_ptr<task> t) : parts_(p), task_(std::move(t)) {
    std::lock_guard lock(task_->mu);
    const auto& r = task_->rec;
    id_ = r.id;
    version_ = r.version;
    principal_ = r.principal;
    capabilities_ = r.client_capabilities;
    rules_ = r.session.empty() ? era::stateless : era::stateful;
}

void task_channel::emit(const std::shared_ptr<call>&, const json& msg) { parts_.tasks.note(*task_, msg); }

rpc_result task_channel::request(const std::shared_ptr<call>& c, std::string method, json params,
                                 std::chrono::milliseconds) {
    return request_in_rounds(*c, capabilities_, std::move(method), std::move(params));
}

input_outcome task_channel::ask(const std::shared_ptr<call>& c, std::vector<input_request> inputs) {
    return ask_in_rounds(*c, capabilities_, std::move(inputs));
}

void task_channel::finish(const std::shared_ptr<call>& c, call_outcome outcome) {
    parts_.settle(task_, c.get(), std::move(outcome));
}

}  // namespace litemcp::server
