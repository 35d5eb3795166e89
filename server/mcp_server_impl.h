// Internal to server/: the state of a running mcp_server.
#pragma once

#include <atomic>
#include <thread>

#include "server/mcp_server.h"
#include "server/session.h"
#include "server/session_log.h"
#include "server/stream_feeder.h"
#include "server/tool_schema.h"
#include "server/work_pool.h"
#include "store/store.h"
#include "transport/http_server.h"

namespace litemcp::server {

// The HTTP outcome of handling one JSON-RPC message.
struct http_error {
    unsigned status;
    json body;  // a JSON-RPC error
};

// One client request being executed: what its handler's context needs.
struct call {
    std::shared_ptr<session_state> session;
    json id;
    std::string method;
    json params;
    std::string tag;              // its stream's tag (the request record's offset)
    std::optional<json> progress_token;
    std::shared_ptr<std::atomic<bool>> cancelled = std::make_shared<std::atomic<bool>>(false);
    bool streaming = true;        // false in JSON-response mode: no server requests possible
    std::shared_ptr<transport::sse_stream> sse;  // the POST's response stream, if any
    std::shared_ptr<stream_feeder> feeder;
};

class mcp_server::impl {
public:
    explicit impl(server_config c);

    // ---- HTTP endpoint (mcp_server.cpp) ----
    void on_http(transport::http_request req, std::shared_ptr<transport::responder> res);
    std::optional<transport::http_response> check_origin_and_host(const transport::http_request& req) const;
    void handle_post(transport::http_request req, std::shared_ptr<transport::responder> res);
    void handle_get(const transport::http_request& req, std::shared_ptr<transport::responder> res);
    void handle_delete(const transport::http_request& req, std::shared_ptr<transport::responder> res);
    // Looks up the session named by Mcp-Session-Id and checks MCP-Protocol-Version.
    std::expected<std::shared_ptr<session_state>, http_error> session_for(const transport::http_request& req,
                                                                         const json& id);
    void serve_request(std::shared_ptr<session_state> s, json msg, const transport::http_request& req,
                       std::shared_ptr<transport::responder> res);
    void serve_batch(std::shared_ptr<session_state> s, json batch, std::shared_ptr<transport::responder> res);
    void serve_initialize(json msg, const transport::http_request& req, std::shared_ptr<transport::responder> res);
    void accept_client_answer(const std::shared_ptr<session_state>& s, const json& msg);
    void accept_notification(const std::shared_ptr<session_state>& s, const json& msg);

    // ---- JSON-RPC methods (mcp_methods.cpp) ----
    // Runs a request to completion and returns its response message (or
    // nullopt when it was cancelled: no response is sent).
    std::optional<json> execute(call& c);
    rpc_result dispatch(call& c);
    json server_capabilities(const std::string& version) const;
    std::string negotiate(const std::string& requested) const;

    // ---- store helpers ----
    // Appends a message to a session's topic on a stream; returns its offset.
    store::result<store::append_ack> emit(session_state& s, std::string_view tag, const json& msg,
                                          std::uint32_t flags = 0);
    void broadcast_list_changed(list_kind k);
    void resource_updated(const std::string& uri);
    void maintenance_loop();

    transport::http_response json_response(unsigned status, const json& body) const;
    transport::http_response error_response(unsigned status, const json& id, int code, std::string_view message,
                                            std::optional<json> data = std::nullopt) const;

    server_config cfg;
    registry reg;
    tool_schemas schemas;
    std::unique_ptr<store::store> st;
    std::unique_ptr<session_table> sessions;
    std::unique_ptr<work_pool> handlers;
    std::unique_ptr<work_pool> delivery;
    std::unique_ptr<transport::http_server> http;
    std::atomic<bool> stopping{false};
    std::atomic<std::uint64_t> in_flight{0};  // requests between arrival and response
    std::mutex maint_mu;
    std::condition_variable maint_cv;
    std::thread maintenance;
};

}  // namespace litemcp::server
