#include "server/connect/connector.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <future>
#include <sstream>
#include <thread>

#include "server/json/json_fields.h"
#include "server/json/json_text.h"
#include "server/rpc/json_rpc.h"
#include "server/upstreams/upstream_definition.h"
#include "transport/sse_parser.h"

namespace litemcp::server {

namespace {


// One exchange, waited for: the response, or what went wrong.
std::expected<transport::client_response, std::string> exchange(transport::http_client& http, transport::client_request r) {
    auto done = std::make_shared<std::promise<transport::result<transport::client_response>>>();
    auto answer = done->get_future();
    transport::client_handlers h;
    h.on_done = [done](transport::result<transport::client_response> x) { done->set_value(std::move(x)); };
    http.send(std::move(r), std::move(h));
    auto x = answer.get();
    if (!x) return std::unexpected(x.error().message);
    return std::move(*x);
}

}  // namespace

connector::connector(connector_options o) : o_(std::move(o)) {
    prefix_ = o_.prefix.value_or(o_.name + "__");
    if (o_.credential_file.empty()) o_.credential_file = o_.name + ".credential";
    transport::client_options co;
    co.idle_timeout = std::chrono::seconds(4);
    http_ = std::make_unique<transport::http_client>(co);
}

connector::~connector() {
    if (stream_) stream_->cancel();
    // The HTTP client first: its callbacks (a relayed request's answer) may
    // write to the child. Its threads end before the lock is taken, since a
    // callback may post (a send after shutdown does nothing). Then the
    // child: its reader's messages find no client and are dropped.
    http_->shutdown();
    {
        std::lock_guard lock(http_mu_);
        http_.reset();
    }
    child_.reset();
}

transport::header_list connector::auth_headers(bool credential) const {
    transport::header_list h;
    if (credential && !credential_.empty()) h.set("Authorization", "Bearer " + credential_);
    else if (!o_.token.empty()) h.set("Authorization", "Bearer " + o_.token);
    return h;
}

// ---- the child ----------------------------------------------------------------

void connector::request_child(const std::string& method, json params, json id, reply_fn reply) {
    {
        std::lock_guard lock(mu_);
        waiting_[to_json(id)] = std::move(reply);
    }
    json m{{"jsonrpc", "2.0"}, {"id", id}, {"method", method}};
    if (!params.is_null()) m["params"] = std::move(params);
    if (!child_->send(m)) {
        reply_fn r;
        {
            std::lock_guard lock(mu_);
            auto it = waiting_.find(to_json(id));
            if (it == waiting_.end()) return;
            r = std::move(it->second);
            waiting_.erase(it);
        }
        r(make_error(id, rpc_code::internal_error, "the stdio server's input is closed"));
    }
}

std::expected<json, std::string> connector::request_child_and_wait(const std::string& method, json params) {
    auto done = std::make_shared<std::promise<json>>();
    auto answer = done->get_future();
    std::string id;
    {
        std::lock_guard lock(mu_);
        id = "connect-" + std::to_string(next_id_++);
    }
    request_child(method, std::move(params), id, [done](json r) { done->set_value(std::move(r)); });
    if (answer.wait_for(o_.request_timeout) != std::future_status::ready) {
        std::lock_guard lock(mu_);
        waiting_.erase(to_json(json(id)));
        return std::unexpected("the stdio server did not answer " + method + " within " +
                               std::to_string(o_.request_timeout.count()) + " ms");
    }
    auto r = answer.get();
    if (r.contains("error")) return std::unexpected(method + " failed: " + to_json(r["error"]));
    if (!r.contains("result") || !r["result"].is_object()) return std::unexpected(method + ": no result");
    return r["result"];
}

void connector::from_child(json m) {
    if (m.is_array()) {
        for (auto& one : m) from_child(std::move(one));
        return;
    }
    const auto method = string_field(m, "method");
    if (method.empty() && m.contains("id")) {  // a response to us
        reply_fn r;
        {
            std::lock_guard lock(mu_);
            auto it = waiting_.find(to_json(m["id"]));
            if (it == waiting_.end()) return;
            r = std::move(it->second);
            waiting_.erase(it);
        }
        r(std::move(m));
        return;
    }
    // stdio says nothing of which call a log message or a request of the
    // child's is about: it is the call's when exactly one is running
    // (always, at concurrency 1).
    auto only_call = [this] {
        std::lock_guard lock(mu_);
        return calls_.size() == 1 ? calls_.begin()->first : std::string();
    };
    if (m.contains("id")) {  // a request of the child's
        if (method == "ping") {
            child_->send(make_result(m["id"], json::object()));
            return;
        }
        const auto call_id = only_call();
        if (call_id.empty()) {
            child_->send(make_error(m["id"], rpc_code::method_not_found,
                                    "litemcp-connect relays " + method + " to the calling client only while exactly one call runs"));
            return;
        }
        // litemcp asks the call's client; the answer is the POST's.
        json id = m["id"];
        return post(call_id, std::move(m), [this, id](const json& answer) {
            json out = answer;
            if (classify(out).kind != message_kind::response)
                out = make_error(id, rpc_code::internal_error, "litemcp gave no answer to relay");
            out["id"] = id;
            child_->send(std::move(out));
        });
    }
    const auto params = object_field(m, "params");
    if (method == "notifications/progress") {
        const auto token = params.value("progressToken", json());
        std::string call_id;
        {
            std::lock_guard lock(mu_);
            for (auto& [c, rpc] : calls_)
                if (json(rpc) == token) call_id = c;
        }
        if (call_id.empty() || !params.contains("progress") || !params["progress"].is_number()) return;
        // What litemcp takes of it, so a field of another type does not
        // cost the progress (and the call's invisibility extension).
        json p{{"progress", params["progress"]}};
        if (params.contains("total") && params["total"].is_number()) p["total"] = params["total"];
        if (params.contains("message") && params["message"].is_string()) p["message"] = params["message"];
        post(call_id, make_notification("notifications/progress", std::move(p)));
    } else if (method == "notifications/message") {
        const auto call_id = only_call();
        if (call_id.empty() || string_field(params, "level").empty()) return;
        json p{{"level", params["level"]}, {"data", params.contains("data") ? params["data"] : json()}};
        if (params.contains("logger") && params["logger"].is_string()) p["logger"] = params["logger"];
        post(call_id, make_notification("notifications/message", std::move(p)));
    } else if (method.ends_with("/list_changed")) {
        std::lock_guard lock(mu_);
        relist_ = true;
        cv_.notify_all();
    }
}

// ---- litemcp ------------------------------------------------------------------

std::expected<json, std::string> connector::lists() {
    const json caps = object_field(init_, "capabilities");
    json out{{"tools", json::array()}, {"resources", json::array()}, {"prompts", json::array()}};
    for (auto [method, field] : {std::pair{"tools/list", "tools"}, {"resources/list", "resources"}, {"prompts/list", "prompts"}}) {
        if (!caps.contains(field)) continue;
        json cursor;
        for (int page = 0; page < 100; ++page) {
            json params = json::object();
            if (!cursor.is_null()) params["cursor"] = cursor;
            auto r = request_child_and_wait(method, params);
            if (!r) return std::unexpected(r.error());
            for (auto& x : r->value(field, json::array())) out[field].push_back(x);
            auto next = r->find("nextCursor");
            if (next == r->end() || !next->is_string() || next->get<std::string>().empty() || *next == cursor) break;
            cursor = *next;
        }
    }
    return out;
}

std::expected<void, std::string> connector::register_worker() {
    auto l = lists();
    if (!l) return std::unexpected(l.error());
    {
        std::lock_guard lock(mu_);
        task_tools_.clear();
        for (const auto& t : l->value("tools", json::array()))
            if (string_field(object_field(t, "execution"), "taskSupport") == "required") task_tools_.insert(string_field(t, "name"));
    }
    upstream_definition d;
    d.name = o_.name;
    d.prefix = prefix_;
    json asked{{"name", o_.name}, {"concurrency", o_.concurrency}, {"queueWhileOffline", o_.queue_while_offline}};
    auto body = upstream_registration(asked, d, *l);
    if (!body) return std::unexpected(body.error());
    transport::client_request r;
    r.url = o_.url + "/workers";
    r.headers = auth_headers(o_.token.empty());
    r.headers.set("Content-Type", "application/json");
    r.body = to_json(*body);
    auto res = exchange(*http_, std::move(r));
    if (!res) return std::unexpected("cannot reach litemcp at " + o_.url + ": " + res.error());
    auto reply = parse_json(res->body).value_or(json::object());
    if (res->status == 201) {
        std::lock_guard lock(mu_);
        credential_ = string_field(reply, "credential");
        // Kept for the next start: registering again needs it.
        const auto old_mask = umask(077);
        std::ofstream(o_.credential_file) << credential_ << "\n";
        umask(old_mask);
    } else if (res->status != 200) {
        return std::unexpected("litemcp refused the registration (HTTP " + std::to_string(res->status) + "): " +
                               string_field(reply, "error") +
                               (res->status == 409 ? " -- the credential is in --credential-file of the connector "
                                                     "that registered it"
                                                   : ""));
    }
    spdlog::info("litemcp-connect: {}: registered with {} ({} tools, {} resources, {} prompts)", o_.name, o_.url,
                 (*body)["tools"].size(), (*body)["resources"].size(), (*body)["prompts"].size());
    return {};
}

void connector::attach() {
    transport::client_request r;
    r.method = "GET";
    r.url = o_.url + "/workers/" + o_.name + "/calls";
    r.headers = auth_headers(true);
    r.headers.set("Accept", "text/event-stream");
    r.headers.set("Worker-Instance", "connect-" + std::to_string(getpid()));
    r.timeout = std::chrono::seconds(10);
    r.stream_timeout = std::chrono::seconds(60);  // litemcp sends a keep-alive every 15 s
    auto parser = std::make_shared<transport::sse_parser>(16 * 1024 * 1024);
    transport::client_handlers h;
    h.on_head = [](const transport::client_response& head) { return head.status == 200; };
    h.on_data = [this, parser](std::string_view chunk) {
        parser->feed(chunk, [this](transport::sse_event_in&& e) {
            if (auto m = parse_json(e.data); m && m->is_object()) on_event(*m);
        });
    };
    h.on_done = [this](transport::result<transport::client_response> x) {
        if (!x) spdlog::warn("litemcp-connect: {}: the call stream ended: {}", o_.name, x.error().message);
        else if (x->status != 200)
            spdlog::warn("litemcp-connect: {}: litemcp refused the call stream (HTTP {}): {}", o_.name, x->status, x->body);
        std::lock_guard lock(mu_);
        reattach_ = true;
        cv_.notify_all();
    };
    auto stream = http_->send(std::move(r), std::move(h));
    std::lock_guard lock(mu_);
    stream_ = std::move(stream);
}

void connector::on_event(const json& e) {
    const auto method = string_field(e, "method");
    if (method == "io.litemcp/attached") {
        spdlog::info("litemcp-connect: {}: attached as instance {}", o_.name, string_field(object_field(e, "params"), "instance"));
        return;
    }
    if (method == "notifications/cancelled") {
        const auto params = object_field(e, "params");
        std::string rpc, task_id;
        {
            std::lock_guard lock(mu_);
            auto it = calls_.find(string_field(params, "requestId"));
            if (it == calls_.end()) return;
            rpc = it->second;
            calls_.erase(it);
            if (auto t = tasks_.find(string_field(params, "requestId")); t != tasks_.end()) {
                task_id = t->second;
                tasks_.erase(t);
            }
        }
        child_->send(make_notification("notifications/cancelled", json{{"requestId", rpc}, {"reason", string_field(params, "reason")}}));
        if (!task_id.empty()) request_child("tasks/cancel", json{{"taskId", task_id}}, rpc + "#cancel", [](json) {});
        return;
    }
    auto call = worker_messages::read_call(e);
    if (!call) return;
    const auto call_id = call->id;
    // A task the child makes of the call lives as long as the call may.
    const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch()).count();
    const std::int64_t ttl = call->deadline_ms && static_cast<std::int64_t>(call->deadline_ms) > now_ms + 1'000
                                 ? static_cast<std::int64_t>(call->deadline_ms) - now_ms
                                 : 3'600'000;
    upstream_definition d;
    d.name = o_.name;
    d.prefix = prefix_;
    auto request = forward_call(d, std::move(*call));
    if (!request) return post(call_id, make_error(call_id, rpc_code::invalid_params, request.error()));
    const auto rpc = request->id;
    {
        std::lock_guard lock(mu_);
        if (calls_.contains(call_id)) return;  // delivered again while the child still works on it
        calls_[call_id] = rpc;
        // A tool the child runs only as a task is called as one.
        if (request->method == "tools/call" && task_tools_.contains(string_field(request->params, "name")))
            request->params["task"] = json{{"ttl", ttl}};
    }
    request_child(request->method, std::move(request->params), rpc, [this, call_id, rpc](json r) { child_answered(call_id, rpc, std::move(r)); });
}

void connector::child_answered(const std::string& call_id, const std::string& rpc, json r) {
    // The child made a task of the call (a 2025-11-25 CreateTaskResult):
    // tasks/result waits for its end (the child's requests meanwhile reach
    // the calling client as any other) and answers with its result.
    if (auto t = object_field(object_field(r, "result"), "task"); !t.empty() && !r["result"].contains("content") &&
                                                                   !string_field(t, "taskId").empty()) {
        const auto task_id = string_field(t, "taskId");
        bool cancelled = false, again = false;
        {
            std::lock_guard lock(mu_);
            auto it = calls_.find(call_id);
            cancelled = it == calls_.end() || it->second != rpc;
            again = !cancelled && tasks_.contains(call_id);  // tasks/result answered with a task: not followed
            if (!cancelled && !again) tasks_[call_id] = task_id;
        }
        if (cancelled) return request_child("tasks/cancel", json{{"taskId", task_id}}, rpc + "#cancel", [](json) {});
        if (!again)
            return request_child("tasks/result", json{{"taskId", task_id}}, rpc + "#result",
                                 [this, call_id, rpc](json r) { child_answered(call_id, rpc, std::move(r)); });
        r = make_error(call_id, rpc_code::internal_error, "the stdio server answered tasks/result with another task");
    }
    {
        std::lock_guard lock(mu_);
        auto it = calls_.find(call_id);
        if (it == calls_.end() || it->second != rpc) return;  // cancelled meanwhile
        calls_.erase(it);
        tasks_.erase(call_id);
    }
    // The child's response is the call's, under the call's id: a result
    // object, or a well-formed error; anything else is an error for the
    // client (sending the call again would get the same).
    if (auto e = r.find("error"); e != r.end() && e->is_object() && e->contains("code") && (*e)["code"].is_number_integer() &&
                                  e->contains("message") && (*e)["message"].is_string()) {
        json err{{"code", (*e)["code"]}, {"message", (*e)["message"]}};
        if (e->contains("data")) err["data"] = (*e)["data"];
        return post(call_id, json{{"jsonrpc", "2.0"}, {"id", call_id}, {"error", std::move(err)}});
    }
    if (!r.contains("result") || !r["result"].is_object())
        return post(call_id, make_error(call_id, rpc_code::internal_error, "the stdio server answered no result object"));
    if (auto meta = r["result"].find("_meta"); meta != r["result"].end() && meta->is_object()) {
        meta->erase("io.modelcontextprotocol/related-task");
        if (meta->empty()) r["result"].erase("_meta");
    }
    post(call_id, make_result(call_id, std::move(r["result"])));
}

void connector::post(const std::string& call_id, json message, std::function<void(const json& answer)> answered) {
    {
        std::lock_guard lock(out_mu_);
        auto& box = outboxes_[call_id];
        if (box.sending) {
            if (box.waiting.size() >= max_waiting_posts && classify(message).kind == message_kind::notification) {
                spdlog::warn("litemcp-connect: {}: call {}: {} messages wait for litemcp; a {} is dropped", o_.name, call_id,
                             box.waiting.size(), string_field(message, "method"));
                return;
            }
            box.waiting.push_back({std::move(message), std::move(answered)});
            return;
        }
        box.sending = true;
    }
    send_in_order(call_id, {std::move(message), std::move(answered)});
}

void connector::send_in_order(const std::string& call_id, queued_post p) {
    for (;;) {
        const bool request = static_cast<bool>(p.answered);
        send_post(call_id, std::move(p));
        // A notification or response lets the next go when litemcp has
        // taken it (send_post's on_done); a request as soon as it is sent.
        if (!request || !next_post(call_id, p)) return;
    }
}

bool connector::next_post(const std::string& call_id, queued_post& p) {
    std::lock_guard lock(out_mu_);
    auto it = outboxes_.find(call_id);
    if (it == outboxes_.end()) return false;
    if (it->second.waiting.empty()) {
        outboxes_.erase(it);
        return false;
    }
    p = std::move(it->second.waiting.front());
    it->second.waiting.pop_front();
    return true;
}

void connector::send_post(const std::string& call_id, queued_post p) {
    std::lock_guard lock(http_mu_);
    if (!http_) return;  // shutting down
    transport::client_request r;
    r.url = o_.url + "/workers/" + o_.name + "/calls/" + call_id;
    r.headers = auth_headers(true);
    r.headers.set("Content-Type", "application/json");
    r.body = to_json(p.message);
    if (p.answered) r.timeout = std::chrono::minutes(11);  // litemcp waits for the client at most 10 minutes
    transport::client_handlers h;
    const auto what = string_field(p.message, "method").empty() ? std::string("response") : string_field(p.message, "method");
    h.on_done = [this, call_id, what, answered = std::move(p.answered)](transport::result<transport::client_response> x) {
        // A lost answer is not lost for good: the call stays open in
        // litemcp and is delivered again.
        if (!x) spdlog::warn("litemcp-connect: {}: call {}: the {} did not reach litemcp: {}", o_.name, call_id, what, x.error().message);
        else if (x->status >= 300)
            spdlog::warn("litemcp-connect: {}: call {}: litemcp refused the {} (HTTP {}): {}", o_.name, call_id, what, x->status, x->body);
        if (answered) return answered(x && x->status == 200 ? parse_json(x->body).value_or(json()) : json());
        if (!x && x.error().code == transport::errc::cancelled) return;  // shutting down
        if (queued_post next; next_post(call_id, next)) send_in_order(call_id, std::move(next));
    };
    http_->send(std::move(r), std::move(h));
}

std::expected<int, std::string> connector::run() {
    {
        std::ifstream in(o_.credential_file);
        std::string c;
        if (in >> c) credential_ = c;
    }
    auto child = stdio_peer::start(o_.command, stdio_peer::handlers{
                                                   [this](json m) { from_child(std::move(m)); },
                                                   [this](int status) {
                                                       std::lock_guard lock(mu_);
                                                       exited_ = status;
                                                       cv_.notify_all();
                                                   }});
    if (!child) return std::unexpected(child.error());
    child_ = std::move(*child);
    auto init = request_child_and_wait(
        "initialize", json{{"protocolVersion", "2025-11-25"},
                           // What the child may ask while it works on a call:
                           // relayed to the calling client (who must have declared it too).
                           {"capabilities", {{"sampling", json::object()}, {"elicitation", json::object()}, {"roots", json::object()}}},
                           {"clientInfo", {{"name", "litemcp-connect"}, {"version", "0.1.0"}}}});
    if (!init) return std::unexpected(init.error());
    init_ = *init;
    child_->send(make_notification("notifications/initialized", json::object()));
    spdlog::info("litemcp-connect: {}: {} started ({})", o_.name, o_.command[0],
                 object_field(init_, "serverInfo").value("name", std::string("?")));
    // At start, litemcp must be reachable: a wrong URL is said at once.
    if (auto r = register_worker(); !r) return std::unexpected(r.error());
    attach();
    std::unique_lock lock(mu_);
    for (;;) {
        cv_.wait(lock, [&] { return exited_ || relist_ || reattach_; });
        if (exited_) {
            spdlog::info("litemcp-connect: {}: the stdio server exited ({})", o_.name, *exited_);
            return *exited_;
        }
        relist_ = false;  // registering again reads the lists again
        const bool reattach = std::exchange(reattach_, false);
        lock.unlock();
        if (reattach) std::this_thread::sleep_for(std::chrono::seconds(1));  // litemcp restarting: not too eagerly
        if (auto r = register_worker(); !r) {
            spdlog::warn("litemcp-connect: {}: {}", o_.name, r.error());
            if (reattach) {
                lock.lock();
                reattach_ = true;  // try again
                continue;
            }
        } else if (reattach) {
            attach();
        }
        lock.lock();
    }
}

}  // namespace litemcp::server
