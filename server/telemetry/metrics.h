// Counters, gauges and histograms with labels, exposed in the Prometheus
// text format (version 0.0.4) at /metrics. Values that the store, the HTTP
// server and the worker hub already count are read from them at scrape time
// (see probes::render_metrics, server/ops/probes.h); this class holds the ones counted
// on the request path.
//
// Threading: thread-safe (one mutex; a request takes it twice). Lifetime:
// owned by the server.
#pragma once

#include <array>
#include <initializer_list>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace litemcp::server {

// Label values are escaped when rendered; names are the caller's constants.
using labels = std::vector<std::pair<std::string, std::string>>;
// Labels as the request path passes them: views, nothing copied unless the
// series is new.
using label_views = std::initializer_list<std::pair<std::string_view, std::string_view>>;

class metrics {
public:
    // Latency buckets, in seconds: 0.5 ms to 10 s.
    static constexpr std::array<double, 14> buckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                       0.1,    0.25,  0.5,    1,     2.5,  5,    10};

    // These run per request: a series is found by its name and its labels
    // joined into one key (in a reused buffer), without allocating.
    void add(std::string_view name, label_views l, double by = 1);
    void observe(std::string_view name, label_views l, double seconds);

    // Appends the HELP/TYPE lines and the samples of everything counted here.
    void render(std::string& out) const;

    // Helpers for the values read at scrape time.
    static void family(std::string& out, const std::string& name, const std::string& type, const std::string& help);
    static void sample(std::string& out, const std::string& name, const labels& l, double value);

private:
    struct histogram {
        std::array<std::uint64_t, buckets.size()> counts{};
        std::uint64_t count = 0;
        double sum = 0;
    };
    template <class T>
    struct series {
        labels l;  // as given, for render()
        T value{};
    };
    // Family name -> series key (the labels, see find()) -> series, in the
    // order render() writes them.
    template <class T>
    using families = std::map<std::string, std::map<std::string, series<T>, std::less<>>, std::less<>>;
    // The family name and the series key in one string -> the value in
    // families (map nodes never move): one hash lookup per count.
    struct key_hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
    };
    template <class T>
    using index = std::unordered_map<std::string, T*, key_hash, std::equal_to<>>;
    template <class T>
    static T& find(families<T>& f, index<T>& idx, std::string& key, std::string_view name, label_views l);

    mutable std::mutex mu_;
    families<double> counters_;
    families<histogram> histograms_;
    index<double> counter_index_;
    index<histogram> histogram_index_;
    std::string key_;  // find()'s buffer, reused
};

// The labels of one HTTP exchange, filled in as the request is understood
// (the /mcp endpoint parses the body) and read when it is answered.
struct exchange_labels {
    std::string method;  // the JSON-RPC method label (method_label in mcp/method_table.h), if any
    std::string era = "legacy";
};

}  // namespace litemcp::server
