#include "server/telemetry/logging.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <optional>

#include "server/util/closest.h"

namespace litemcp::server {

namespace {

// A line starts with its module ("store: ...", "workers: ..."), or with the
// thing it concerns ("session <id>: ...", "task <id>: ...", in the modules
// session and tasks).
std::string_view module_of(std::string_view msg) {
    std::size_t i = 0;
    while (i < msg.size() && msg[i] >= 'a' && msg[i] <= 'z') ++i;
    if (i == 0 || i >= msg.size() || (msg[i] != ':' && msg[i] != ' ')) return {};
    auto m = msg.substr(0, i);
    return m == "task" ? std::string_view("tasks") : m;
}

// The session, task or worker a line concerns, as a JSON field name and the
// id: "session <id>: ...", "task <id>: ...", "workers: <name>: ...".
std::pair<std::string_view, std::string_view> subject_of(std::string_view msg) {
    auto id_before_colon = [&](std::size_t from) -> std::string_view {
        auto end = msg.find(':', from);
        if (end == std::string_view::npos || end == from) return {};
        auto id = msg.substr(from, end - from);
        for (char c : id)
            if (c == ' ' || c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20) return {};
        return id;
    };
    if (msg.starts_with("session ")) return {"session", id_before_colon(8)};
    if (msg.starts_with("task ")) return {"task", id_before_colon(5)};
    if (msg.starts_with("workers: ")) return {"worker", id_before_colon(9)};
    return {};
}

// Drops the lines below their module's level, passes the rest on.
class module_filter_sink : public spdlog::sinks::base_sink<std::mutex> {
public:
    module_filter_sink(spdlog::sink_ptr inner, spdlog::level::level_enum fallback,
                       std::map<std::string, spdlog::level::level_enum, std::less<>> levels)
        : inner_(std::move(inner)), fallback_(fallback), levels_(std::move(levels)) {}

protected:
    void sink_it_(const spdlog::details::log_msg& msg) override {
        const std::string_view text(msg.payload.data(), msg.payload.size());
        auto it = levels_.find(module_of(text));
        if (msg.level < (it == levels_.end() ? fallback_ : it->second)) return;
        inner_->log(msg);
    }
    void flush_() override { inner_->flush(); }

private:
    spdlog::sink_ptr inner_;
    spdlog::level::level_enum fallback_;
    std::map<std::string, spdlog::level::level_enum, std::less<>> levels_;
};

// Text escaped for the inside of a JSON string.
void append_escaped(spdlog::memory_buf_t& dest, std::string_view text) {
    for (char c : text) {
        switch (c) {
            case '"': dest.append(std::string_view("\\\"")); break;
            case '\\': dest.append(std::string_view("\\\\")); break;
            case '\n': dest.append(std::string_view("\\n")); break;
            case '\r': dest.append(std::string_view("\\r")); break;
            case '\t': dest.append(std::string_view("\\t")); break;
            default:
                if (static_cast<unsigned char>(c) < 0x20) {
                    char esc[8];
                    std::snprintf(esc, sizeof esc, "\\u%04x", c);
                    dest.append(std::string_view(esc));
                } else {
                    dest.push_back(c);
                }
        }
    }
}

// ,"<name>":"<value>" (as_number: the value unquoted, when it is one).
void append_field(spdlog::memory_buf_t& dest, std::string_view name, std::string_view value, bool as_number = false) {
    dest.append(std::string_view(",\""));
    dest.append(name);
    dest.append(std::string_view("\":"));
    const bool number = as_number && !value.empty() &&
                        value.find_first_not_of("0123456789.") == std::string_view::npos;
    if (!number) dest.push_back('"');
    append_escaped(dest, value);
    if (!number) dest.push_back('"');
}

// An access line ("access: <peer> <method> <target> <status> <ms> ms
// [mcp=<method> era=<era>] [session=<id>]", written in app/routes.cpp) as
// fields of its own.
void append_access_fields(spdlog::memory_buf_t& dest, std::string_view msg) {
    static constexpr std::string_view positional[] = {"peer", "httpMethod", "target", "status", "durationMs"};
    msg.remove_prefix(std::string_view("access: ").size());
    std::size_t i = 0;
    while (!msg.empty()) {
        auto space = msg.find(' ');
        auto token = msg.substr(0, space);
        msg = space == std::string_view::npos ? std::string_view() : msg.substr(space + 1);
        if (i < std::size(positional)) {
            append_field(dest, positional[i], token, i >= 3);
        } else if (auto eq = token.find('='); eq != std::string_view::npos) {
            const auto key = token.substr(0, eq);
            append_field(dest, key == "mcp" ? std::string_view("mcpMethod") : key, token.substr(eq + 1));
        }
        ++i;
    }
}

// %* in a pattern: the message, escaped for a JSON string; %&: its module.
class json_message : public spdlog::custom_flag_formatter {
public:
    void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
        append_escaped(dest, std::string_view(msg.payload.data(), msg.payload.size()));
    }
    std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<json_message>(); }
};

class module_name : public spdlog::custom_flag_formatter {
public:
    void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
        auto m = module_of(std::string_view(msg.payload.data(), msg.payload.size()));
        dest.append(m.empty() ? std::string_view("litemcp") : m);
    }
    std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<module_name>(); }
};

// %#: ,"session":"<id>" (or "task", "worker") when the line names one; an
// access line's parts, each a field.
class subject_field : public spdlog::custom_flag_formatter {
public:
    void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
        const std::string_view text(msg.payload.data(), msg.payload.size());
        if (text.starts_with("access: ")) return append_access_fields(dest, text);
        auto [field, id] = subject_of(text);
        if (id.empty()) return;
        dest.append(std::string_view(",\""));
        dest.append(field);
        dest.append(std::string_view("\":\""));
        dest.append(id);
        dest.push_back('"');
    }
    std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<subject_field>(); }
};

// Every module a line may start with (see module_of), for --log-modules.
constexpr std::string_view known_modules[] = {"access", "admin", "auth", "delivery", "handlers", "listen", "litemcp",
                                              "mcp", "session", "store", "tasks", "transport", "upstreams", "workers"};

std::optional<spdlog::level::level_enum> level_of(const std::string& name) {
    auto l = spdlog::level::from_str(name);
    // from_str answers "off" for anything it does not know.
    if (l == spdlog::level::off && name != "off") return std::nullopt;
    return l;
}

}  // namespace

std::expected<void, std::string> setup_logging(const log_options& o) {
    auto fallback = level_of(o.level);
    if (!fallback) return std::unexpected("log-level '" + o.level + "' is not a level");
    std::map<std::string, spdlog::level::level_enum, std::less<>> levels;
    auto lowest = *fallback;
    std::size_t start = 0;
    while (start < o.modules.size()) {
        auto comma = o.modules.find(',', start);
        auto part = o.modules.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        start = comma == std::string::npos ? o.modules.size() : comma + 1;
        if (part.empty()) continue;
        auto eq = part.find('=');
        auto level = eq == std::string::npos ? std::optional<spdlog::level::level_enum>() : level_of(part.substr(eq + 1));
        if (!level || eq == 0) return std::unexpected("log-modules: '" + part + "' is not <module>=<level>");
        const auto module = part.substr(0, eq);
        if (std::find(std::begin(known_modules), std::end(known_modules), module) == std::end(known_modules)) {
            std::string all;
            for (auto m : known_modules) all += (all.empty() ? "" : ", ") + std::string(m);
            return std::unexpected("log-modules: no module '" + module + "'" + did_you_mean(module, known_modules) +
                                   "; the modules are " + all);
        }
        levels[part.substr(0, eq)] = *level;
        lowest = std::min(lowest, *level);
    }
    if (o.access_log) {
        if (!levels.contains("access")) levels["access"] = spdlog::level::info;
        lowest = std::min(lowest, spdlog::level::info);
    }
    if (o.format != "text" && o.format != "json") return std::unexpected("log-format must be text or json");
    auto inner = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
    auto formatter = std::make_unique<spdlog::pattern_formatter>();
    formatter->add_flag<json_message>('*').add_flag<module_name>('&').add_flag<subject_field>('#');
    if (o.format == "json")
        formatter->set_pattern(R"({"time":"%Y-%m-%dT%H:%M:%S.%f%z","level":"%l","module":"%&"%#,"msg":"%*"})");
    else
        formatter->set_pattern("[%Y-%m-%d %H:%M:%S.%e] [%^%l%$] %v");
    inner->set_formatter(std::move(formatter));
    auto sink = std::make_shared<module_filter_sink>(inner, *fallback, std::move(levels));
    auto logger = std::make_shared<spdlog::logger>("litemcp", sink);
    logger->set_level(lowest);
    spdlog::set_default_logger(logger);
    return {};
}

}  // namespace litemcp::server
