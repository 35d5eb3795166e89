// Running a request's handler: the method table lookup (dispatch), the
// exceptions a handler may throw, and the context it runs with -- progress,
// logs, notifications, server requests and input rounds, each handed to
// emit_on_stream in the order the handler produced them.
#include <spdlog/spdlog.h>

#include "server/json_text.h"
#include "server/mcp_server_impl.h"
#include "server/method_table.h"
#include "server/methods/methods.h"

namespace litemcp::server {

// ---- the context a handler runs with ---------------------------------------

class call_context : public request_context {
public:
    call_context(mcp_server::impl& srv, std::shared_ptr<call> c) : srv_(srv), c_(std::move(c)) {}
    const std::string& session_id() const override { return c_->session->id; }
    const std::string& protocol_version() const override { return c_->session->version; }
    const json& client_capabilities() const override { return c_->session->client_capabilities; }

    void progress(double progress, std::optional<double> total, std::optional<std::string> message) override {
        if (!c_->progress_token) return;
        if (last_progress_ && progress <= *last_progress_) return;  // must increase
        last_progress_ = progress;
        json p{{"progressToken", *c_->progress_token}, {"progress", progress}};
        if (total) p["total"] = *total;
        if (message) p["message"] = *message;
        emit(make_notification("notifications/progress", std::move(p)));
    }

    void log(log_level level, json data, std::optional<std::string> logger) override {
        if (c_->quiet) return;
        {
            std::lock_guard lock(c_->session->mu);
            if (level < c_->session->level) return;
        }
        json p{{"level", to_string(level)}, {"data", std::move(data)}};
        if (logger) p["logger"] = *logger;
        emit(make_notification("notifications/message", std::move(p)));
    }

    void notify(std::string method, json params) override { emit(make_notification(method, std::move(params))); }

    std::expected<input_answers, rpc_failure> ask(std::vector<input_request> inputs) override {
        if (!c_->rounds) {  // a legacy session: real requests, answered on this stream
            input_answers out;
            for (auto& in : inputs) {
                auto r = request(in.method, std::move(in.params), std::chrono::seconds(60));
                if (!r) return std::unexpected(r.error());
                out[in.key] = std::move(*r);
            }
            return out;
        }
        if (const auto* m = find_method(c_->method); !m || !m->asks_for_input)
            return fail(rpc_code::internal_error, "input can be asked for only in tools/call, prompts/get and resources/read");
        json required = json::object();
        for (auto& in : inputs)
            if (auto cap = capability_for(in.method); cap && !c_->session->client_capabilities.contains(*cap))
                required[*cap] = json::object();
        if (!required.empty())
            return fail(rpc_code::missing_capability,
                        "Missing client capability: the server needs " + to_json(required) + " for this request",
                        json{{"requiredCapabilities", required}});
        input_answers out;
        json missing = json::object();
        for (auto& in : inputs) {
            if (c_->answers.contains(in.key)) out[in.key] = c_->answers[in.key];
            else missing[in.key] = {{"method", in.method}, {"params", std::move(in.params)}};
        }
        if (missing.empty()) return out;
        c_->input_requests = std::move(missing);
        return fail(rpc_code::input_pending, "the client's input is needed");
    }

    rpc_result request(std::string method, json params, std::chrono::milliseconds timeout) override {
        if (c_->rounds) {
            std::string key = method + "#" + std::to_string(c_->requests_made++);
            std::vector<input_request> one{{key, std::move(method), std::move(params)}};
            auto r = ask(std::move(one));
            if (!r) return std::unexpected(r.error());
            return std::move(r->begin()->second);
        }
        auto& s = *c_->session;
        if (auto needed = capability_for(method); needed && !s.client_capabilities.contains(*needed))
            return fail(rpc_code::method_not_found, "the client did not declare the '" + *needed + "' capability");
        if (!c_->streaming)
            return fail(rpc_code::internal_error, "server-to-client requests need an SSE response stream");
        if (c_->runs_on == execution::io)
            return fail(rpc_code::internal_error, "a tool running on the I/O thread cannot wait for the client");
        const json id = "litemcp-" + std::to_string(s.next_request_id++);
        auto waiter = std::make_shared<pending_reply>();
        {
            std::lock_guard lock(s.mu);
            s.waiting[to_json(id)] = waiter;
        }
        emit(make_request(id, method, std::move(params)));
        std::unique_lock lock(waiter->mu);
        const bool answered = waiter->cv.wait_for(lock, std::min(timeout, srv_.cfg.mcp.request_timeout), [&] {
            return waiter->answer.has_value() || c_->cancelled->load() || s.ended;
        });
        std::optional<json> answer = std::move(waiter->answer);
        lock.unlock();  // lock order is session then waiter (see pending_reply::wake)
        {
            std::lock_guard l(s.mu);
            s.waiting.erase(to_json(id));
        }
        if (!answered || !answer) return fail(rpc_code::internal_error, "no answer from the client to " + method);
        auto& a = *answer;
        if (a.contains("error")) {
            auto& e = a["error"];
            return fail(e.value("code", rpc_code::internal_error), e.value("message", "error"),
                        e.contains("data") ? std::optional<json>(e["data"]) : std::nullopt);
        }
        return a.value("result", json::object());
    }

    bool cancelled() const override { return c_->cancelled->load() || c_->session->ended; }

    void close_stream() override {
        if (!c_->sse || !c_->stream_open.exchange(false)) return;
        c_->sse->send_retry(srv_.cfg.mcp.retry);
        c_->sse->close();
    }

private:
    static std::optional<std::string> capability_for(std::string_view method) {
        if (method == "sampling/createMessage") return "sampling";
        if (method == "elicitation/create") return "elicitation";
        if (method == "roots/list") return "roots";
        return std::nullopt;
    }
    void emit(const json& msg) { srv_.emit_on_stream(c_, msg); }
    mcp_server::impl& srv_;
    std::shared_ptr<call> c_;
    std::optional<double> last_progress_;
};

std::optional<rpc_result> mcp_server::impl::run_handler(const std::shared_ptr<call>& cp) {
    auto& c = *cp;
    rpc_result r;
    try {
        r = dispatch(cp);
    } catch (const std::exception& e) {
        spdlog::error("session {}: {} failed: {}", c.session->id, c.method, e.what());
        r = fail(rpc_code::internal_error, std::string("internal error: ") + e.what());
    }
    if (c.cancelled->load()) return std::nullopt;  // a cancelled request gets no response
    return r;
}

std::optional<json> mcp_server::impl::execute(const std::shared_ptr<call>& cp) {
    auto r = run_handler(cp);
    if (!r) return std::nullopt;
    if (!*r) return error_message(cp->id, r->error());
    return make_result(cp->id, std::move(**r));
}

rpc_result mcp_server::impl::dispatch(const std::shared_ptr<call>& cp) {
    auto& c = *cp;
    const auto* m = c.entry ? c.entry : find_method(c.method);
    if (!m || !m->handler || !served(*m, c.ephemeral ? era::stateless : era::stateful, c.session->version))
        return fail(rpc_code::method_not_found, "Method not found: " + c.method);
    call_context ctx(*this, cp);
    method_scope scope{*this, cp, ctx};
    return m->handler(scope);
}

}  // namespace litemcp::server
