// Every HTTP request, routed: the operator's probes, the OAuth metadata,
// /admin/, /workers/ and the /mcp endpoint. Each exchange is counted for
// /metrics (litemcp_http_requests_total, and litemcp_mcp_requests_total for
// JSON-RPC on /mcp) and, with the access log on, logged once answered.
#include <spdlog/spdlog.h>

#include <chrono>

#include "server/app/mcp_server_impl.h"
#include "server/http/answers.h"
#include "server/http/request_checks.h"
#include "server/http/router.h"

namespace litemcp::server {

using transport::http_request;
using transport::http_response;
using transport::responder;

namespace {

// Counts the exchange once it is answered: litemcp_http_requests_total and,
// for a JSON-RPC request on /mcp, litemcp_mcp_requests_total.
class observed_responder : public responder {
public:
    observed_responder(std::shared_ptr<responder> inner, metrics& m, std::string endpoint, std::string method,
                       std::shared_ptr<exchange_labels> mcp_method, bool access_log, const http_request& req)
        : inner_(std::move(inner)), m_(m), endpoint_(std::move(endpoint)), method_(std::move(method)),
          mcp_method_(std::move(mcp_method)), access_log_(access_log) {
        if (access_log_) {  // kept only for the access log line
            peer_ = req.peer;
            target_ = req.target;
            if (auto sid = req.headers.get("Mcp-Session-Id")) session_ = *sid;
        }
    }

    void respond(http_response r) override {
        count(r.status, r.headers);
        inner_->respond(std::move(r));
    }
    std::shared_ptr<transport::sse_stream> start_sse(transport::header_list extra) override {
        count(200, extra);
        return inner_->start_sse(std::move(extra));
    }
    void respond_events(transport::header_list extra, std::vector<transport::sse_event> events) override {
        count(200, extra);
        inner_->respond_events(std::move(extra), std::move(events));
    }
    void post(std::function<void()> f) override { inner_->post(std::move(f)); }
    void on_disconnect(std::function<void()> f) override { inner_->on_disconnect(std::move(f)); }

private:
    // headers: the answer's (an initialize answer names its new session).
    void count(unsigned status, const transport::header_list& headers) {
        if (counted_.exchange(true)) return;
        const auto s = std::to_string(status);
        m_.add("litemcp_http_requests_total", {{"endpoint", endpoint_}, {"method", method_}, {"status", s}});
        const bool mcp = mcp_method_ && !mcp_method_->method.empty();
        if (mcp)
            m_.add("litemcp_mcp_requests_total",
                   {{"method", mcp_method_->method}, {"era", mcp_method_->era}, {"status", s}});
        if (!access_log_) return;
        if (auto sid = headers.get("Mcp-Session-Id"); sid && session_.empty()) session_ = *sid;
        // A session id is hex; anything else a client sent is not worth a field.
        const bool sid_ok = !session_.empty() && session_.size() <= 64 &&
                            session_.find_first_not_of("0123456789abcdef") == std::string::npos;
        spdlog::info("access: {} {} {} {} {:.2f} ms{}{}{}{}", peer_, method_, target_, status,
                     std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - arrived_).count(),
                     mcp ? " mcp=" + mcp_method_->method + " era=" : "", mcp ? mcp_method_->era : "",
                     sid_ok ? " session=" : "", sid_ok ? session_ : "");
    }
    std::shared_ptr<responder> inner_;
    metrics& m_;
    std::string endpoint_, method_;
    std::shared_ptr<exchange_labels> mcp_method_;
    bool access_log_;
    std::string peer_, target_, session_;
    // Read only for the access log.
    std::chrono::steady_clock::time_point arrived_ =
        access_log_ ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point();
    std::atomic<bool> counted_{false};
};

std::string endpoint_of(const std::string& path, const std::string& mcp) {
    if (path == mcp) return "mcp";
    if (path == "/workers" || path.starts_with("/workers/")) return "workers";
    if (path.starts_with("/admin/")) return "admin";
    if (path == "/metrics" || path == "/healthz" || path == "/readyz") return "ops";
    return "other";
}

}  // namespace

std::shared_ptr<responder> mcp_server::impl::observe(const http_request& req, std::shared_ptr<responder> res,
                                                     std::shared_ptr<exchange_labels> labels) {
    const bool log = cfg.log.access_log;
    return std::make_shared<observed_responder>(std::move(res), stats, endpoint_of(req.path, cfg.mcp.endpoint),
                                                req.method, std::move(labels), log, req);
}

void mcp_server::impl::on_pool(const std::shared_ptr<responder>& res, std::function<void()> work) {
    if (!handlers->post(std::move(work)))
        res->respond(http::rpc_error(503, nullptr, rpc_code::internal_error, "the server is busy; retry later"));
}

void mcp_server::impl::on_http(http_request&& req, std::shared_ptr<responder> raw_res) {
    auto labels = std::make_shared<exchange_labels>();
    auto res = observe(req, std::move(raw_res), labels);
    if (ops->handle(req, res)) return;
    // RFC 9728: the protected-resource metadata, at the root and path-suffixed.
    constexpr std::string_view metadata_path = "/.well-known/oauth-protected-resource";
    if (req.path.starts_with(metadata_path) &&
        (req.path.size() == metadata_path.size() ||
         std::string_view(req.path).substr(metadata_path.size()) == cfg.mcp.endpoint)) {
        if (!auth->enabled()) return res->respond(http::json_answer(404, json{{"error", "authentication is off"}}));
        return res->respond(http::json_answer(200, auth->protected_resource_metadata()));
    }
    const std::string_view path = req.path;  // compared without strlen
    const bool admin_path = path.starts_with("/admin") && (path.size() == 6 || path[6] == '/');
    const bool worker_path = path == "/workers" || path.starts_with("/workers/");
    if (admin_path || worker_path) {
        // Loopback callers need no token on /admin/, so a page a browser
        // loads from a rebound name must not reach it through that browser;
        // the same rule guards /workers/. Both APIs write or read the store
        // synchronously: off the I/O thread.
        if (auto why = http::origin_or_host_refusal(req, cfg.mcp.allowed_hosts, cfg.mcp.allowed_origins))
            return res->respond(http::rpc_error(403, nullptr, rpc_code::invalid_request, *why));
        auto shared_req = std::make_shared<http_request>(std::move(req));
        if (admin_path) return on_pool(res, [this, shared_req, res] { admin->handle(std::move(*shared_req), res); });
        return on_pool(res, [this, shared_req, res] { worker_http->handle(std::move(*shared_req), res); });
    }
    if (req.path != cfg.mcp.endpoint)
        return res->respond(http::rpc_error(404, nullptr, rpc_code::invalid_request, http::not_found_message(req)));
    endpoint->handle(std::move(req), std::move(res), *labels);
}

}  // namespace litemcp::server
