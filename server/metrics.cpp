#include "server/metrics.h"

#include <cmath>
#include <cstdio>

namespace litemcp::server {

namespace {

// What each series counted here means; render() writes it as HELP.
const std::map<std::string, std::pair<std::string, std::string>>& described() {
    static const std::map<std::string, std::pair<std::string, std::string>> d = {
        {"litemcp_mcp_requests_total",
         {"counter", "JSON-RPC requests answered on the MCP endpoint, by method, era and HTTP status"}},
        {"litemcp_mcp_request_duration_seconds",
         {"histogram", "from a request's arrival to its response being recorded, by method"}},
        {"litemcp_http_requests_total", {"counter", "HTTP requests by endpoint, HTTP method and status"}},
    };
    return d;
}

std::string escape(const std::string& v) {
    std::string out;
    for (char c : v) {
        if (c == '\\' || c == '"') out.push_back('\\');
        if (c == '\n') {
            out += "\\n";
            continue;
        }
        out.push_back(c);
    }
    return out;
}

std::string number(double v) {
    if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
    char buf[32];
    if (v == std::floor(v) && std::fabs(v) < 1e15) std::snprintf(buf, sizeof buf, "%.0f", v);
    else std::snprintf(buf, sizeof buf, "%.9g", v);
    return buf;
}

}  // namespace

std::string mcp_method_label(std::string_view m) {
    static constexpr std::string_view known[] = {
        "initialize",    "ping",           "tools/list",          "tools/call",           "resources/list",
        "resources/templates/list",        "resources/read",      "resources/subscribe",  "resources/unsubscribe",
        "prompts/list",  "prompts/get",    "completion/complete", "logging/setLevel", "server/discover", "subscriptions/listen"};
    for (auto k : known)
        if (k == m) return std::string(m);
    if (m.starts_with("notifications/")) return "notification";
    return "other";
}

void metrics::add(std::string_view name, const labels& l, double by) {
    std::lock_guard lock(mu_);
    auto it = counters_.find(name);
    if (it == counters_.end()) it = counters_.emplace(std::string(name), std::map<labels, double>{}).first;
    it->second[l] += by;
}

void metrics::observe(std::string_view name, const labels& l, double seconds) {
    std::lock_guard lock(mu_);
    auto it = histograms_.find(name);
    if (it == histograms_.end()) it = histograms_.emplace(std::string(name), std::map<labels, histogram>{}).first;
    auto& h = it->second[l];
    for (std::size_t i = 0; i < buckets.size(); ++i)
        if (seconds <= buckets[i]) h.counts[i]++;
    h.count++;
    h.sum += seconds;
}

void metrics::family(std::string& out, const std::string& name, const std::string& type, const std::string& help) {
    out += "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
}

void metrics::sample(std::string& out, const std::string& name, const labels& l, double value) {
    out += name;
    if (!l.empty()) {
        out += "{";
        for (std::size_t i = 0; i < l.size(); ++i)
            out += (i ? "," : "") + l[i].first + "=\"" + escape(l[i].second) + "\"";
        out += "}";
    }
    out += " " + number(value) + "\n";
}

void metrics::render(std::string& out) const {
    std::lock_guard lock(mu_);
    for (auto& [name, series] : counters_) {
        auto d = described().find(name);
        family(out, name, "counter", d != described().end() ? d->second.second : name);
        for (auto& [l, v] : series) sample(out, name, l, v);
    }
    for (auto& [name, series] : histograms_) {
        auto d = described().find(name);
        family(out, name, "histogram", d != described().end() ? d->second.second : name);
        for (auto& [l, h] : series) {
            for (std::size_t i = 0; i < buckets.size(); ++i) {
                auto with_le = l;
                with_le.emplace_back("le", number(buckets[i]));
                sample(out, name + "_bucket", with_le, static_cast<double>(h.counts[i]));
            }
            auto inf = l;
            inf.emplace_back("le", "+Inf");
            sample(out, name + "_bucket", inf, static_cast<double>(h.count));
            sample(out, name + "_sum", l, h.sum);
            sample(out, name + "_count", l, static_cast<double>(h.count));
        }
    }
}

}  // namespace litemcp::server
