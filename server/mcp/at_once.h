// The fast path of a session's request whose handler answers without
// waiting (execution::io, e.g. tools/list or an I/O-thread tool): the
// handler runs first, on the I/O thread, while at_once_channel holds its
// messages; then the request, the messages and the response are recorded as
// one group and the stream is written in one go. commit_bursts commits the
// groups of a burst of such requests as one batch. Measured in
// test/bench/README.md; keep it lean.
//
// Threading: at_once_channel is used by one call on one I/O thread, then by
// the store's commit and that call's strand. commit_bursts is thread-safe.
// Lifetime: the channel is the call's; commit_bursts is the server's and
// outlives every call.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "server/mcp/session_channel.h"

namespace litemcp::server {

// Commits the groups queued with append_group_deferred in bursts.
class commit_bursts {
public:
    explicit commit_bursts(store::store& st) : st_(st) {}
    // A group was queued; `via` is the connection whose strand runs the commit.
    void queued(const std::shared_ptr<transport::responder>& via);

private:
    void commit(std::shared_ptr<transport::responder> via, std::uint64_t seen, unsigned round);
    store::store& st_;
    std::atomic<bool> posted_{false};
    std::atomic<std::uint64_t> queued_{0};  // groups queued, ever
};

class at_once_channel : public session_channel {
public:
    // raw: the request's text, recorded first in the group.
    at_once_channel(parts p, commit_bursts& bursts, std::shared_ptr<session_state> s,
                    std::shared_ptr<transport::responder> res, bool streaming, std::string raw)
        : session_channel(p, std::move(s), std::move(res), streaming), bursts_(bursts), raw_(std::move(raw)) {}

    void open(const std::shared_ptr<call>&) override {}  // the stream is written in one go at the end
    void emit(const std::shared_ptr<call>& c, const json& msg) override;
    rpc_result request(const std::shared_ptr<call>& c, std::string method, json params,
                       std::chrono::milliseconds timeout) override;
    std::optional<std::string> why_not_later(const call& c) const override;
    void finish(const std::shared_ptr<call>& c, call_outcome outcome) override;

private:
    commit_bursts& bursts_;
    std::string raw_;
    std::vector<std::string> held_;  // the handler's messages, recorded with the response
};

}  // namespace litemcp::server
