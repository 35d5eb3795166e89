// The dispatcher (dispatcher.h): placement, the method table lookup, the
// exceptions a handler may throw, and the context it runs with.
#include "server/mcp/dispatcher.h"

#include <spdlog/spdlog.h>

#include "server/json/json_text.h"
#include "server/mcp/method_table.h"
#include "server/mcp/methods/methods.h"

namespace litemcp::server {

namespace {

// Who a call's log lines concern, as the log's modules read it
// (telemetry/logging.h): "session <id>", "task <id>", or "mcp" for a
// 2026-07-28 request (its id means nothing outside this process).
std::string subject_of(const call& c) {
    const auto o = c.channel->origin();
    switch (o.of) {
        case call_origin::kind::session: return "session " + o.id;
        case call_origin::kind::task: return "task " + o.id;
        case call_origin::kind::direct: break;
    }
    return "mcp";
}

// A client's or a tool's words in a log line: one line, at most 200 bytes.
std::string snippet(std::string_view text) {
    std::string out(text.substr(0, 200));
    for (auto& ch : out)
        if (static_cast<unsigned char>(ch) < 0x20) ch = ' ';
    if (text.size() > 200) out += "...";
    return out;
}

// A string member of a JSON object, or "" (whatever the client sent).
std::string_view string_at(const json& j, const char* key) {
    if (!j.is_object()) return {};
    auto it = j.find(key);
    return it != j.end() && it->is_string() ? std::string_view(it->get_ref<const std::string&>()) : std::string_view();
}

// One line per call: at debug when it went well, at info when it failed
// (a JSON-RPC error, a tool error) -- what an operator looks for. A
// successful call costs one level check above debug.
void log_call(const call& c, const call_outcome& r) {
    const bool debug = spdlog::should_log(spdlog::level::debug);
    const bool tool_error = r && *r && c.method == "tools/call" && (*r)->is_object() &&
                            (*r)->contains("isError") && (**r)["isError"] == true;
    if (!debug && (!r || (*r && !tool_error))) return;
    std::string what = c.method;
    if (c.method == "tools/call" || c.method == "prompts/get")
        what += " '" + snippet(string_at(c.params, "name")) + "'";
    else if (c.method == "resources/read")
        what += " " + snippet(string_at(c.params, "uri"));
    const double ms = c.arrived ? std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() -
                                                                            *c.arrived).count()
                                : 0.0;
    const auto who = subject_of(c);
    if (c.deferred) {
        spdlog::debug("{}: {} (id {}): handed to its worker", who, what, snippet(c.id_key));
    } else if (!r) {
        spdlog::debug("{}: {} (id {}): cancelled after {:.2f} ms", who, what, snippet(c.id_key), ms);
    } else if (!*r) {
        spdlog::info("{}: {} (id {}): error {} in {:.2f} ms: {}", who, what, snippet(c.id_key), r->error().code, ms,
                     snippet(r->error().message));
    } else if (tool_error) {
        std::string first;
        if (auto content = (*r)->find("content"); content != (*r)->end() && content->is_array() && !content->empty())
            first = string_at((*content)[0], "text");
        spdlog::info("{}: {} (id {}): tool error in {:.2f} ms: {}", who, what, snippet(c.id_key), ms, snippet(first));
    } else {
        spdlog::debug("{}: {} (id {}): answered in {:.2f} ms", who, what, snippet(c.id_key), ms);
    }
}

}  // namespace

// ---- the context a handler runs with ---------------------------------------

class call_context : public request_context {
public:
    explicit call_context(std::shared_ptr<call> c) : c_(std::move(c)), channel_(*c_->channel) {}
    const std::string& session_id() const override {
        static const std::string none;
        auto* s = channel_.session();
        return s ? s->id : none;
    }
    const std::string& protocol_version() const override { return channel_.version(); }
    const json& client_capabilities() const override { return channel_.capabilities(); }

    void progress(double progress, std::optional<double> total, std::optional<std::string> message) override {
        if (!c_->progress_token) return;
        if (last_progress_ && progress <= *last_progress_) return;  // must increase
        last_progress_ = progress;
        json p{{"progressToken", *c_->progress_token}, {"progress", progress}};
        if (total) p["total"] = *total;
        if (message) p["message"] = *message;
        channel_.emit(c_, make_notification("notifications/progress", std::move(p)));
    }

    void log(log_level level, json data, std::optional<std::string> logger) override {
        if (!channel_.wants_log(level)) return;
        json p{{"level", to_string(level)}, {"data", std::move(data)}};
        if (logger) p["logger"] = *logger;
        channel_.emit(c_, make_notification("notifications/message", std::move(p)));
    }

    void notify(std::string method, json params) override {
        channel_.emit(c_, make_notification(method, std::move(params)));
    }

    std::expected<input_answers, rpc_failure> ask(std::vector<input_request> inputs) override {
        return channel_.ask(c_, std::move(inputs));
    }

    rpc_result request(std::string method, json params, std::chrono::milliseconds timeout) override {
        return channel_.request(c_, std::move(method), std::move(params), timeout);
    }

    bool cancelled() const override { return c_->cancelled->load() || channel_.ended(); }

    void close_stream() override { channel_.close_stream(); }

private:
    std::shared_ptr<call> c_;
    reply_channel& channel_;
    std::optional<double> last_progress_;
};

execution dispatcher::placement(call& c) const {
    const std::string_view m = c.method;  // compared without strlen
    c.entry = find_method(m);
    if (c.entry && c.entry->on_io_thread) return execution::io;
    if (m == "tools/call") {
        const auto name = c.params.find("name");
        if (name == c.params.end() || !name->is_string()) return execution::pool;
        const auto& t = c.placed_tool.emplace(srv_.reg.find_tool(name->get_ref<const std::string&>()));
        if (t) return t->runs_on;
    }
    return execution::pool;
}

call_outcome dispatcher::run(const std::shared_ptr<call>& cp) {
    auto& c = *cp;
    rpc_result r;
    try {
        r = dispatch(cp);
    } catch (const std::exception& e) {
        spdlog::error("{}: {} failed: {}", c.channel->origin().key(), c.method, e.what());
        r = fail(rpc_code::internal_error, std::string("internal error: ") + e.what());
    }
    call_outcome out;
    if (!c.cancelled->load()) out = std::move(r);  // a cancelled request gets no response
    log_call(c, out);
    return out;
}

rpc_result dispatcher::dispatch(const std::shared_ptr<call>& cp) {
    auto& c = *cp;
    const auto* m = c.entry ? c.entry : find_method(c.method);
    if (!m || !m->handler || !served(*m, c.channel->rules(), c.channel->version()))
        return fail(rpc_code::method_not_found, "Method not found: " + c.method);
    call_context ctx(cp);
    method_scope scope{srv_, cp, ctx};
    return m->handler(scope);
}

void dispatcher::serve(const std::shared_ptr<call>& c, call_meter& meter) {
    c->channel->open(c);
    auto outcome = run(c);
    if (c->deferred) {
        meter.left();  // the call is in the store now; the worker hub finishes it
        return;
    }
    c->channel->finish(c, std::move(outcome));
}

}  // namespace litemcp::server
