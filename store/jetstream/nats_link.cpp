#include "store/jetstream/nats_link.h"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <vector>

namespace litemcp::store::jetstream {

namespace {

// libnats keeps global state (its timers, the message delivery pool); it is
// opened once per process and never closed, like a logging library.
natsStatus open_library() {
    static const natsStatus s = [] {
        natsStatus st = nats_Open(-1);
        if (st == NATS_OK) st = nats_SetMessageDeliveryPoolSize(2);
        return st;
    }();
    return s;
}

struct options_deleter {
    void operator()(natsOptions* o) const { natsOptions_Destroy(o); }
};

}  // namespace

const char* header(natsMsg* m, const char* key) {
    const char* v = nullptr;
    if (natsMsgHeader_Get(m, key, &v) != NATS_OK) return nullptr;
    return v;
}

int reply_status(natsMsg* m) {
    // libnats keeps a reply's status line ("NATS/1.0 404 ...") as the
    // "Status" header.
    const char* v = header(m, "Status");
    return v ? std::atoi(v) : 0;
}

error nats_error(std::string_view what, natsStatus s) {
    std::string text = std::string(what) + ": " + natsStatus_GetText(s);
    natsStatus last = NATS_OK;
    if (const char* detail = nats_GetLastError(&last); detail && *detail && last == s) text += std::string(" (") + detail + ")";
    return error{s == NATS_CONNECTION_CLOSED ? errc::closed : errc::io_error, std::move(text)};
}

result<std::unique_ptr<nats_link>> nats_link::connect(const nats_options& o) {
    if (o.servers.empty()) return make_error(errc::invalid_argument, "no NATS server given");
    if (auto s = open_library(); s != NATS_OK) return std::unexpected(nats_error("starting the NATS client", s));
    natsOptions* raw = nullptr;
    if (auto s = natsOptions_Create(&raw); s != NATS_OK) return std::unexpected(nats_error("NATS options", s));
    std::unique_ptr<natsOptions, options_deleter> opts(raw);
    std::unique_ptr<nats_link> link(new nats_link());
    link->timeout_ = o.request_timeout;
    std::vector<const char*> urls;
    for (auto& u : o.servers) urls.push_back(u.c_str());
    natsStatus s = natsOptions_SetServers(opts.get(), urls.data(), static_cast<int>(urls.size()));
    if (s == NATS_OK) s = natsOptions_SetName(opts.get(), o.connection_name.c_str());
    if (s == NATS_OK) s = natsOptions_SetTimeout(opts.get(), o.request_timeout.count());
    if (s == NATS_OK) s = natsOptions_SetMaxReconnect(opts.get(), -1);
    if (s == NATS_OK) s = natsOptions_SetReconnectWait(opts.get(), o.reconnect_wait.count());
    if (s == NATS_OK) s = natsOptions_SetReconnectBufSize(opts.get(), static_cast<int>(o.reconnect_buffer_bytes));
    // Many subscriptions (one per watched topic) share a small pool of
    // delivery threads instead of a thread each.
    if (s == NATS_OK) s = natsOptions_UseGlobalMessageDelivery(opts.get(), true);
    if (s == NATS_OK) s = natsOptions_SetMaxPendingMsgs(opts.get(), 1 << 20);
    // A server never hears its own signals (signals.h); JetStream's answers
    // and republished wakes come from the NATS server, not from this
    // connection, so they still arrive.
    if (s == NATS_OK) s = natsOptions_SetNoEcho(opts.get(), true);
    // Appends and signals are waited for one by one: write each at once
    // rather than let libnats' flusher wait a millisecond to batch them.
    if (s == NATS_OK) s = natsOptions_SetSendAsap(opts.get(), true);
    if (s == NATS_OK) s = natsOptions_SetDisconnectedCB(opts.get(), &nats_link::disconnected_cb, link.get());
    if (s == NATS_OK) s = natsOptions_SetReconnectedCB(opts.get(), &nats_link::reconnected_cb, link.get());
    if (s == NATS_OK) s = natsOptions_SetClosedCB(opts.get(), &nats_link::closed_cb, link.get());
    if (s != NATS_OK) return std::unexpected(nats_error("NATS options", s));
    if (s = natsConnection_Connect(&link->nc_, opts.get()); s != NATS_OK) {
        std::string where;
        for (auto& u : o.servers) where += (where.empty() ? "" : ", ") + u;
        return std::unexpected(nats_error("connecting to NATS at " + where, s));
    }
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.Wait = o.request_timeout.count();
    if (s = natsConnection_JetStream(&link->js_, link->nc_, &jo); s != NATS_OK)
        return std::unexpected(nats_error("JetStream context", s));
    return link;
}

nats_link::~nats_link() {
    close();
    if (js_) jsCtx_Destroy(js_);
    if (nc_) natsConnection_Destroy(nc_);
}

void nats_link::close() {
    std::call_once(closed_, [this] {
        closing_.store(true);
        if (!nc_) return;
        natsConnection_Close(nc_);
        // libnats runs the connection's callbacks on its own thread, after
        // Close returns; they refer to this link, so it waits for the last.
        std::unique_lock lock(closed_mu_);
        if (!closed_cv_.wait_for(lock, std::chrono::seconds(5), [this] { return closed_cb_ran_; }))
            spdlog::warn("store: the NATS client did not report the connection closed within 5 s");
    });
}

void nats_link::closed_cb(natsConnection*, void* self) {
    auto* link = static_cast<nats_link*>(self);
    std::lock_guard lock(link->closed_mu_);
    link->closed_cb_ran_ = true;
    link->closed_cv_.notify_all();
}

bool nats_link::connected() const { return nc_ && natsConnection_Status(nc_) == NATS_CONN_STATUS_CONNECTED; }

void nats_link::disconnected_cb(natsConnection*, void* self) {
    auto* link = static_cast<nats_link*>(self);
    if (link->closing_.load()) return;
    link->disconnects_.fetch_add(1);
    spdlog::warn("store: lost the connection to NATS; reconnecting");
}

void nats_link::reconnected_cb(natsConnection* nc, void* self) {
    auto* link = static_cast<nats_link*>(self);
    link->reconnects_.fetch_add(1);
    char url[256] = {};
    natsConnection_GetConnectedUrl(nc, url, sizeof url);
    spdlog::info("store: reconnected to NATS at {}", url);
    if (link->on_reconnect_) link->on_reconnect_();
}

result<msg_ptr> nats_link::request(const std::string& subject, std::string_view body) const {
    natsMsg* reply = nullptr;
    natsStatus s = natsConnection_Request(&reply, nc_, subject.c_str(), body.data(), static_cast<int>(body.size()),
                                          timeout_.count());
    if (s != NATS_OK) return std::unexpected(nats_error("request to " + subject, s));
    return msg_ptr(reply);
}

result<std::string> nats_link::api(const std::string& subject, std::string_view body) const {
    auto reply = request(subject, body);
    if (!reply) return std::unexpected(reply.error());
    std::string text(natsMsg_GetData(reply->get()), static_cast<std::size_t>(natsMsg_GetDataLength(reply->get())));
    if (int st = reply_status(reply->get()); st >= 400)
        return make_error(st == 404 ? errc::not_found : errc::io_error, subject + ": status " + std::to_string(st));
    auto doc = nlohmann::json::parse(text, nullptr, false);
    if (doc.is_discarded()) return make_error(errc::io_error, subject + ": unreadable reply");
    if (auto e = doc.find("error"); e != doc.end() && e->is_object()) {
        const int code = e->value("code", 0), err_code = e->value("err_code", 0);
        const std::string desc = e->value("description", std::string("error"));
        const bool missing = code == 404 || err_code == 10059 || err_code == 10037;
        return make_error(missing ? errc::not_found : errc::io_error, subject + ": " + desc);
    }
    return text;
}

}  // namespace litemcp::store::jetstream
