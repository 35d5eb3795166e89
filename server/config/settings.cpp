#include "server/config/settings.h"

#include <cerrno>
#include <charconv>
#include <cstring>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "schemas/schemas.h"
#include "server/json/json_schema.h"
#include "server/json/json_text.h"
#include "server/upstreams/upstream_config.h"
#include "server/util/closest.h"
#include "store/options.h"

namespace litemcp::server {

namespace {

template <class T>
bool parse_number(const std::string& v, T& out) {
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
    return ec == std::errc() && p == v.data() + v.size();
}

// --mcp-servers FILE: the upstreams the file declares, added to u; what is
// wrong with it, or "".
std::string add_declared(upstream_options& u, const std::string& path, std::vector<std::string>& warnings) {
    std::ifstream in(path);
    if (!in) return "cannot read the MCP servers file " + path + ": " + std::strerror(errno);
    std::stringstream text;
    text << in.rdbuf();
    auto doc = parse_json(text.str(), {.comments = true});
    if (!doc) return path + ": not JSON: " + to_string(doc.error());
    auto declared = read_declared_upstreams(*doc, path);
    if (!declared) return declared.error();
    for (auto& [name, body] : declared->bodies.items()) u.declared[name] = body;
    for (auto& w : declared->warnings) warnings.push_back(w);
    return {};
}

bool parse_ms(const std::string& v, std::chrono::milliseconds& out) {
    long long n = 0;
    if (!parse_number(v, n) || n < 0) return false;
    out = std::chrono::milliseconds(n);
    return true;
}

std::vector<std::string> split(const std::string& v) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (start <= v.size()) {
        auto comma = v.find(',', start);
        auto part = v.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        if (!part.empty()) out.push_back(part);
        if (comma == std::string::npos) break;
        start = comma + 1;
    }
    return out;
}

}  // namespace

int switch_value(std::string_view v) {
    if (v == "1" || v == "true" || v == "yes" || v == "on") return 1;
    if (v == "0" || v == "false" || v == "no" || v == "off") return 0;
    return -1;
}

std::vector<setting> settings_for(program_options& o) {
    auto& c = o.config;
    bool& examples = o.examples;
    auto& h = c.http;
    auto& m = c.mcp;
    auto& s = c.store;
    std::vector<setting> f;
    auto num = [](auto& field) { return [&field](const std::string& v) { return parse_number(v, field); }; };
    auto ms = [](auto& field) { return [&field](const std::string& v) { return parse_ms(v, field); }; };
    auto str = [](std::string& field) { return [&field](const std::string& v) { field = v; return true; }; };
    // A switch is on when given bare or as true/1/yes/on, off as false/0/no/off,
    // so the command line can turn off what the file or the environment set.
    auto on = [](bool& field, bool value) {
        return [&field, value](const std::string& v) {
            if (v.empty() || switch_value(v) == 1) field = value;
            else if (switch_value(v) == 0) field = !value;
            else return false;
            return true;
        };
    };
    f.push_back({"host", "address to listen on", str(h.host), h.host});
    f.push_back({"port", "TCP port (0 picks a free one)", num(h.port), std::to_string(h.port)});
    f.push_back({"threads", "I/O threads (0 = one per core)", num(h.threads), "0"});
    f.push_back({"data", "data folder (commit log and index)", str(s.dir), "./litemcp-data"});
    f.push_back({"fsync", "always | interval:<ms> | never", [&s](const std::string& v) {
                     auto d = litemcp::store::durability::parse(v);
                     if (d) s.fsync = *d;
                     return d.has_value();
                 }, s.fsync.to_string()});
    f.push_back({"store", "where lite topics live: embedded (the data folder) or NATS JetStream, nats://host:port[,nats://host:port...] (docs/cluster.md)", [&s](const std::string& v) {
                     if (v == "embedded") {
                         s.nats.servers.clear();
                         return true;
                     }
                     auto urls = split(v);
                     for (auto& u : urls)
                         if (!u.starts_with("nats://") && !u.starts_with("tls://")) return false;
                     s.nats.servers = std::move(urls);
                     return !s.nats.servers.empty();
                 }, "embedded"});
    f.push_back({"nats-prefix", "first part of the names of litemcp's streams, buckets and subjects in NATS ([A-Za-z0-9_-]{1,32})", str(s.nats.prefix), s.nats.prefix});
    f.push_back({"nats-replicas", "copies of every JetStream stream and bucket (1, 3 or 5; at most the NATS cluster's size)", num(s.nats.replicas), std::to_string(s.nats.replicas)});
    f.push_back({"nats-shards", "JetStream streams per parent topic (spreads stream leaders over the NATS nodes)", num(s.nats.shards), std::to_string(s.nats.shards)});
    f.push_back({"nats-timeout-ms", "longest wait for JetStream's answer to one request or append", ms(s.nats.request_timeout), std::to_string(s.nats.request_timeout.count())});
    f.push_back({"checkpoint-ms", "how often the index is flushed (bounds recovery work and reclaim delay)", ms(s.checkpoint_interval), std::to_string(s.checkpoint_interval.count())});
    f.push_back({"reclaim-ms", "how often expired sessions and topics are reclaimed", ms(s.reclaim_interval), std::to_string(s.reclaim_interval.count())});
    f.push_back({"tls-cert", "PEM certificate chain (enables TLS with --tls-key)", str(h.tls_cert_file), "none"});
    f.push_back({"tls-key", "PEM private key", str(h.tls_key_file), "none"});
    f.push_back({"max-body-bytes", "largest request body (413 beyond)", num(h.max_body_bytes), std::to_string(h.max_body_bytes)});
    f.push_back({"max-header-bytes", "largest request header block (431 beyond)", num(h.max_header_bytes), std::to_string(h.max_header_bytes)});
    f.push_back({"request-timeout-ms", "time to receive one request", ms(h.request_timeout), std::to_string(h.request_timeout.count())});
    f.push_back({"idle-timeout-ms", "keep-alive connection without a request", ms(h.idle_timeout), std::to_string(h.idle_timeout.count())});
    f.push_back({"sse-queue-bytes", "unwritten bytes per SSE stream before it is dropped", num(h.sse_queue_bytes), std::to_string(h.sse_queue_bytes)});
    f.push_back({"max-buffered-bytes", "bytes held for clients over all connections: bodies, SSE queues, unsent answers (503 and stalled streams dropped beyond)", num(h.max_buffered_bytes), std::to_string(h.max_buffered_bytes)});
    f.push_back({"keepalive-ms", "SSE keep-alive comment interval (0 = off)", ms(h.sse_keepalive), std::to_string(h.sse_keepalive.count())});
    f.push_back({"max-connections", "open connections (503 beyond)", num(h.max_connections), std::to_string(h.max_connections)});
    f.push_back({"fd-reserve", "file descriptors kept for the store beside connections (max-connections is lowered to fit ulimit -n)", num(h.descriptor_reserve), std::to_string(h.descriptor_reserve)});
    f.push_back({"endpoint", "path of the MCP endpoint", str(m.endpoint), m.endpoint});
    f.push_back({"json-response", "answer requests with one JSON body instead of SSE", on(m.json_response, true), "off", false});
    f.push_back({"no-priming", "no priming event on new streams (2025-11-25 clients)", on(m.priming, false), "priming on", false});
    f.push_back({"close-post-streams", "SEP-1699: close POST streams after priming; clients resume with GET", on(m.close_post_streams, true), "off", false});
    f.push_back({"strict-protocol-version", "reject an MCP-Protocol-Version that is supported but not the session's", on(m.strict_protocol_version, true), "off", false});
    f.push_back({"retry-ms", "retry: value sent before a server-side close", ms(m.retry), std::to_string(m.retry.count())});
    f.push_back({"session-ttl-ms", "idle session expiry", ms(m.session_ttl), std::to_string(m.session_ttl.count())});
    f.push_back({"max-sessions", "sessions at once (503 on initialize beyond)", num(m.max_sessions), std::to_string(m.max_sessions)});
    f.push_back({"session-recount-ms", "on a shared store: how often the session records are counted again", ms(m.session_recount), std::to_string(m.session_recount.count())});
    f.push_back({"session-retention-records", "events kept per session", num(m.session_retention_records), std::to_string(m.session_retention_records)});
    f.push_back({"session-retention-bytes", "bytes of events kept per session", num(m.session_retention_bytes), std::to_string(m.session_retention_bytes)});
    f.push_back({"handler-threads", "requests executing at once", num(m.handler_threads), std::to_string(m.handler_threads)});
    f.push_back({"handler-queue", "requests waiting for a handler thread (503 beyond)", num(m.handler_queue), std::to_string(m.handler_queue)});
    f.push_back({"allowed-origins", "comma-separated Origins allowed besides loopback ('*' = any)", [&m](const std::string& v) { m.allowed_origins = split(v); return true; }, "none"});
    f.push_back({"allowed-hosts", "comma-separated Host names allowed besides loopback ('*' = any)", [&m](const std::string& v) { m.allowed_hosts = split(v); return true; }, "none"});
    f.push_back({"admin-token", "bearer token for /admin/ from non-loopback clients (a secret: prefer LITEMCP_ADMIN_TOKEN)", str(m.admin_token), "none: loopback only"});
    f.push_back({"admin-credential-on-loopback", "loopback clients of /admin/ need the admin token or the mcp:admin scope too",
                 [&m](const std::string& v) {
                     const int s = v.empty() ? 1 : switch_value(v);
                     if (s < 0) return false;
                     m.admin_credential_on_loopback = s == 1;
                     return true;
                 },
                 "on with authentication, else off", false});
    auto& a = c.auth;
    f.push_back({"tokens-file", "JSON file of bearer tokens, each with a principal and scopes (turns authentication on)", str(a.tokens_file), "none"});
    f.push_back({"jwks-file", "JWKS file with the issuer's RS256/ES256 keys for OAuth access tokens (turns authentication on)", str(a.jwks_file), "none"});
    f.push_back({"oauth-issuer", "the iss of valid access tokens", str(a.issuer), "none"});
    f.push_back({"resource-uri", "this server's canonical URI: the audience of valid tokens, the resource of its metadata", str(a.resource), "none"});
    f.push_back({"authorization-servers", "comma-separated authorization servers for the protected-resource metadata", [&a](const std::string& v) { a.authorization_servers = split(v); return true; }, "the issuer"});
    f.push_back({"max-sessions-per-principal", "sessions one authenticated principal may hold (0 = no bound)", num(m.max_sessions_per_principal), std::to_string(m.max_sessions_per_principal)});
    f.push_back({"initialize-per-minute", "initialize requests per authenticated principal per minute (0 = no bound)", num(m.initialize_per_minute), std::to_string(m.initialize_per_minute)});
    f.push_back({"max-listen-streams", "open subscriptions/listen streams (503 beyond)", num(m.max_listen_streams), std::to_string(m.max_listen_streams)});
    f.push_back({"cache-ttl-ms", "ttlMs of 2026-07-28 list, read and discover results", ms(m.cache_ttl), std::to_string(m.cache_ttl.count())});
    f.push_back({"instructions", "instructions returned by initialize", str(m.instructions), "none"});
    f.push_back({"request-state-key", "HMAC key sealing 2026-07-28 requestState; share it across nodes (a secret: prefer LITEMCP_REQUEST_STATE_KEY)", str(m.request_state.key), "generated into <data>/request-state.key"});
    f.push_back({"request-state-ttl-ms", "how long a requestState stays valid", ms(m.request_state.ttl), std::to_string(m.request_state.ttl.count())});
    f.push_back({"task-ttl-ms", "lifetime of a task when the request names none", ms(m.task_ttl), std::to_string(m.task_ttl.count())});
    f.push_back({"task-max-ttl-ms", "longest task lifetime a request may ask for", ms(m.task_max_ttl), std::to_string(m.task_max_ttl.count())});
    f.push_back({"task-promote-ms", "a 2026-07-28 call of an optional-task tool still running after this becomes a task", ms(m.task_promote), std::to_string(m.task_promote.count())});
    f.push_back({"task-poll-interval-ms", "pollIntervalMs suggested to clients polling a task", ms(m.task_poll_interval), std::to_string(m.task_poll_interval.count())});
    f.push_back({"max-active-tasks", "tasks running or waiting for input at once (beyond: a call that would start one fails with an error)", num(m.max_active_tasks), std::to_string(m.max_active_tasks)});
    auto& w = c.workers;
    f.push_back({"worker-invisibility-ms", "a delivered worker call not answered within this is delivered again (a worker may choose its own)", ms(w.invisibility), std::to_string(w.invisibility.count())});
    f.push_back({"worker-max-attempts", "deliveries of a worker call before it is dead-lettered (a worker may choose its own)", num(w.max_attempts), std::to_string(w.max_attempts)});
    f.push_back({"worker-retry-backoff-ms", "delay before a failed worker call is delivered again, doubling per attempt", ms(w.retry_backoff), std::to_string(w.retry_backoff.count())});
    f.push_back({"worker-call-timeout-ms", "a worker call not answered within this fails (a worker may choose its own)", ms(w.call_timeout), std::to_string(w.call_timeout.count())});
    f.push_back({"worker-offline-grace-ms", "a worker with no instance for this long is offline", ms(w.offline_grace), std::to_string(w.offline_grace.count())});
    f.push_back({"worker-offline-expiry-ms", "a worker offline for this long is removed (0: never)", ms(w.offline_expiry), std::to_string(w.offline_expiry.count())});
    f.push_back({"max-workers", "registered workers", num(w.max_workers), std::to_string(w.max_workers)});
    f.push_back({"worker-max-instances", "instances connected per worker", num(w.max_instances), std::to_string(w.max_instances)});
    f.push_back({"relay-threads", "requests of tool servers to calling clients (sampling, elicitation, roots) waiting for an answer at once", num(w.relay_threads), std::to_string(w.relay_threads)});
    f.push_back({"relay-per-client", "of those, at most this many for one client (its principal, or its session without authentication)", num(w.relay_per_client), std::to_string(w.relay_per_client)});
    f.push_back({"max-parked-inputs", "requests of tool servers to clients that answer in rounds (2026-07-28, tasks) waiting for the client's next round at once", num(w.max_parked_inputs), std::to_string(w.max_parked_inputs)});
    f.push_back({"worker-max-open-calls", "queued and delivered calls per worker (beyond: a tool error)", num(w.max_open_calls), std::to_string(w.max_open_calls)});
    auto& u = c.upstreams;
    f.push_back({"upstream-request-timeout-ms", "how long an upstream MCP server may take to answer initialize, a list or a ping, and to start answering a call (a registration may choose its own)", ms(u.request_timeout), std::to_string(u.request_timeout.count())});
    f.push_back({"upstream-ping-ms", "an upstream MCP server is pinged, and its lists read again, this often; one that does not answer goes offline", ms(u.ping_interval), std::to_string(u.ping_interval.count())});
    f.push_back({"upstream-retry-max-ms", "the longest wait between two tries to reach an upstream that does not answer (1 s, doubling)", ms(u.retry_max), std::to_string(u.retry_max.count())});
    f.push_back({"upstream-concurrency", "calls forwarded at once to an upstream by each server (a registration may choose its own)", num(u.concurrency), std::to_string(u.concurrency)});
    f.push_back({"upstream-max-message-bytes", "the largest message an upstream may send (one JSON answer or event)", num(u.max_message_bytes), std::to_string(u.max_message_bytes)});
    f.push_back({"mcp-servers", "a JSON file of MCP servers to put behind litemcp: Claude Desktop's mcpServers, VS Code's servers or a registry server.json (also the key mcpServers of the configuration file)",
                 [&o, &u](const std::string& v) {
                     o.problem = add_declared(u, v, o.warnings);
                     return o.problem.empty();
                 },
                 "none"});
    f.push_back({"log-level", "trace | debug | info | warn | error | critical | off", str(c.log.level), c.log.level});
    f.push_back({"log-format", "text | json (one JSON object per line)", str(c.log.format), c.log.format});
    f.push_back({"log-modules", "levels per module, e.g. store=debug,workers=warn (modules: access, admin, auth, delivery, handlers, listen, litemcp, mcp, session, store, tasks, transport, upstreams, workers)", str(c.log.modules), "none"});
    f.push_back({"access-log", "log one 'access:' line per HTTP exchange", on(c.log.access_log, true), "off", false});
    f.push_back({"examples", "serve the example tools, resources and prompts (the conformance fixtures)", on(examples, true), "off", false});
    return f;
}

std::string usage(const std::vector<setting>& table) {
    std::string out =
        "usage: litemcp [--config FILE] [--flag value | --flag=value | --switch]...\n\n"
        "Each setting is also a key of the JSON configuration file (schemas/config.json) and an\n"
        "environment variable LITEMCP_<NAME>; the command line wins over the environment, which\n"
        "wins over the file. A switch (no V below) is turned off again with --switch=false.\n\n";
    char line[512];
    std::snprintf(line, sizeof line, "  --%-30s %s\n", "config FILE", "a JSON configuration file (or LITEMCP_CONFIG)");
    out += line;
    std::snprintf(line, sizeof line, "  --%-30s %s\n", "version", "print the release and exit");
    out += line;
    for (auto& s : table) {
        std::snprintf(line, sizeof line, "  --%-30s %s (default: %s)\n", (s.name + (s.takes_value ? " V" : "")).c_str(),
                      s.help.c_str(), s.default_text.c_str());
        out += line;
    }
    return out;
}

namespace {

std::string env_name(const std::string& name) {
    std::string out = "LITEMCP_";
    for (char ch : name) out.push_back(ch == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(ch))));
    return out;
}

const setting* find(const std::vector<setting>& table, std::string_view name) {
    for (auto& s : table)
        if (s.name == name) return &s;
    return nullptr;
}

parsed invalid(std::string message) { return {parse_outcome::invalid, std::move(message), {}}; }

std::vector<std::string> names_of(const std::vector<setting>& table) {
    std::vector<std::string> names;
    for (auto& s : table) names.push_back(s.name);
    return names;
}

// Why a value does not fit its setting's schema (schemas/config.json), in
// words a person reads -- the type, the bounds, the allowed forms -- after
// its name ("port: ...", "allowed-hosts[1]: ...").
std::string why_invalid(const std::string& name, const json& prop, const json& value) {
    const auto shown = name + ": " + to_json(value);
    const auto type = prop.value("type", "");
    const bool type_ok = type.empty() || (type == "integer" && value.is_number_integer()) ||
                         (type == "number" && value.is_number()) || (type == "string" && value.is_string()) ||
                         (type == "boolean" && value.is_boolean()) || (type == "array" && value.is_array());
    if (!type_ok) return shown + " is not " + (type == "integer" ? "an integer" : type == "array" ? "an array" : "a " + type);
    if (value.is_number()) {
        if (prop.contains("minimum") && value < prop["minimum"]) return shown + " is below the minimum, " + to_json(prop["minimum"]);
        if (prop.contains("maximum") && value > prop["maximum"]) return shown + " is above the maximum, " + to_json(prop["maximum"]);
    }
    if (prop.contains("enum")) {
        std::string allowed;
        for (auto& e : prop["enum"]) allowed += (allowed.empty() ? "" : ", ") + to_json(e);
        return shown + " is not one of " + allowed;
    }
    if (value.is_array() && prop.contains("items")) {
        for (std::size_t i = 0; i < value.size(); ++i)
            if (auto one = json_schema::compile(prop["items"]); one && (*one)->validate(value[i]))
                return why_invalid(name + "[" + std::to_string(i) + "]", prop["items"], value[i]);
    }
    auto what = prop.value("description", "");
    if (auto d = what.find(". Default"); d != std::string::npos) what.resize(d);
    return shown + " does not fit: " + what;
}

parsed apply_file(const std::string& path, const std::vector<setting>& table, program_options& o) {
    std::ifstream in(path);
    if (!in) return invalid("cannot read the configuration file " + path + ": " + std::strerror(errno));
    std::stringstream text;
    text << in.rdbuf();
    auto parsed = parse_json(text.str(), {.comments = true});
    if (!parsed) return invalid(path + ": not JSON: " + to_string(parsed.error()));
    const json& doc = *parsed;
    if (!doc.is_object()) return invalid(path + ": the configuration is a JSON object of settings (see --help)");
    auto schema_doc = parse_json(schemas::find("config").value());
    if (!schema_doc) return invalid("the configuration schema is not JSON: " + schema_doc.error().message);
    auto schema = json_schema::compile(*schema_doc);
    if (!schema) return invalid("the configuration schema does not compile: " + schema.error());
    // Each key on its own first, in plain words; then the whole document.
    const auto& props = (*schema_doc)["properties"];
    for (auto& [key, value] : doc.items()) {
        if (key == "$schema") continue;
        if (key == "mcpServers") {
            // Claude Desktop's shape, as it is: upstreams (upstream_config.h).
            auto declared = read_declared_upstreams(json{{"mcpServers", value}}, path);
            if (!declared) return invalid(declared.error());
            for (auto& [name, body] : declared->bodies.items()) o.config.upstreams.declared[name] = body;
            for (auto& w : declared->warnings) o.warnings.push_back(w);
            continue;
        }
        if (!find(table, key))
            return invalid(path + ": " + key + ": not a setting of litemcp" + did_you_mean(key, names_of(table)));
        if (auto p = props.find(key); p != props.end())
            if (auto one = json_schema::compile(*p); one && (*one)->validate(value))
                return invalid(path + ": " + why_invalid(key, *p, value));
    }
    if (auto problem = (*schema)->validate(doc)) return invalid(path + ": " + *problem);
    for (auto& [key, value] : doc.items()) {
        if (key == "$schema" || key == "mcpServers") continue;
        auto* s = find(table, key);
        std::string v;
        if (value.is_boolean()) {
            v = value.get<bool>() ? "true" : "false";
        } else if (value.is_string()) {
            v = value.get<std::string>();
        } else if (value.is_array()) {
            for (auto& item : value) v += (v.empty() ? "" : ",") + item.get<std::string>();
        } else {
            v = to_json(value);
        }
        if (!s->set(v)) return invalid(path + ": " + key + ": " + (o.problem.empty() ? "invalid value " + to_json(value) : o.problem));
    }
    return {};
}

}  // namespace

std::string_view litemcp_version() { return LITEMCP_VERSION; }

parsed parse_settings(int argc, const char* const* argv, const char* const* env, program_options& o) {
    auto table = settings_for(o);
    auto getenv_ = [&](const std::string& name) -> const char* {
        if (!env) return nullptr;
        const std::string prefix = name + "=";
        for (auto e = env; *e; ++e)
            if (std::string_view(*e).starts_with(prefix)) return *e + prefix.size();
        return nullptr;
    };
    // The file first: the command line may name it.
    std::string config;
    if (auto v = getenv_("LITEMCP_CONFIG")) config = v;
    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        if (a == "--help" || a == "-h") return {parse_outcome::help, usage(table), {}};
        if (a == "--version") return {parse_outcome::help, "litemcp " + std::string(litemcp_version()) + "\n", {}};
        if (a == "--config" && i + 1 < argc) config = argv[i + 1];
        else if (a.starts_with("--config=")) config = std::string(a.substr(9));
    }
    if (!config.empty())
        if (auto r = apply_file(config, table, o); r.outcome != parse_outcome::run) return r;
    for (auto& s : table) {
        auto v = getenv_(env_name(s.name));
        if (!v) continue;
        if (!s.set(v))
            return invalid(env_name(s.name) + ": " + (o.problem.empty() ? "invalid value '" + std::string(v) + "'" : o.problem));
    }
    // A LITEMCP_ variable that names no setting is a typo or a leftover:
    // said, not fatal (other tools may share the prefix).
    std::vector<std::string> env_names{"LITEMCP_CONFIG"};
    for (auto& s : table) env_names.push_back(env_name(s.name));
    std::vector<std::string> warnings;
    for (auto e = env; e && *e; ++e) {
        const std::string_view entry(*e);
        if (!entry.starts_with("LITEMCP_")) continue;
        const auto name = entry.substr(0, entry.find('='));
        if (std::find(env_names.begin(), env_names.end(), name) == env_names.end())
            warnings.push_back(std::string(name) + " is not a setting of litemcp; it is ignored" +
                               did_you_mean(name, env_names));
    }
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        if (!arg.starts_with("--")) return invalid("unexpected argument '" + arg + "' (see --help)");
        std::string name = arg.substr(2), value;
        bool has_value = false;
        if (auto eq = name.find('='); eq != std::string::npos) {
            value = name.substr(eq + 1);
            name = name.substr(0, eq);
            has_value = true;
        }
        if (name == "config") {
            if (!has_value) ++i;
            continue;
        }
        auto* s = find(table, name);
        if (!s) {
            auto near = closest(name, names_of(table));
            return invalid("unknown flag --" + name + (near.empty() ? " (see --help)" : " (did you mean --" + near + "?)"));
        }
        if (s->takes_value && !has_value) {
            if (i + 1 >= argc) return invalid("--" + name + " needs a value");
            value = argv[++i];
        }
        if (!s->set(value))
            return invalid(o.problem.empty() ? "invalid value '" + value + "' for --" + name : "--" + name + ": " + o.problem);
    }
    parsed out;
    out.warnings = std::move(warnings);
    for (auto& w : o.warnings) out.warnings.push_back(w);
    return out;
}

}  // namespace litemcp::server
