#include "server/telemetry/metrics.h"

#include <charconv>
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

template <class T>
T& metrics::find(families<T>& f, index<T>& idx, std::string& key, std::string_view name, label_views l) {
    // The series key: label names and values, each after its length (four
    // raw bytes), so distinct label sets get distinct keys whatever bytes a
    // value holds. The index key is the same after the family name.
    key.clear();
    auto put = [&](std::string_view part) {
        const auto n = static_cast<std::uint32_t>(part.size());
        key.append(reinterpret_cast<const char*>(&n), sizeof n).append(part);
    };
    put(name);
    const auto series_start = key.size();
    for (auto& [n, v] : l) {
        put(n);
        put(v);
    }
    if (auto hit = idx.find(std::string_view(key)); hit != idx.end()) return *hit->second;
    auto fam = f.find(name);
    if (fam == f.end()) fam = f.emplace(std::string(name), typename families<T>::mapped_type{}).first;
    const auto series_key = std::string_view(key).substr(series_start);
    auto it = fam->second.find(series_key);
    if (it == fam->second.end()) {
        series<T> s;
        for (auto& [n, v] : l) s.l.emplace_back(std::string(n), std::string(v));
        it = fam->second.emplace(std::string(series_key), std::move(s)).first;
    }
    idx.emplace(key, &it->second.value);
    return it->second.value;
}

void metrics::add(std::string_view name, label_views l, double by) {
    std::lock_guard lock(mu_);
    find(counters_, counter_index_, key_, name, l) += by;
}

void metrics::observe(std::string_view name, label_views l, double seconds) {
    std::lock_guard lock(mu_);
    auto& h = find(histograms_, histogram_index_, key_, name, l);
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
        for (auto& [key, s] : series) sample(out, name, s.l, s.value);
    }
    for (auto& [name, series] : histograms_) {
        auto d = described().find(name);
        family(out, name, "histogram", d != described().end() ? d->second.second : name);
        for (auto& [key, s] : series) {
            auto& l = s.l;
            auto& h = s.value;
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
