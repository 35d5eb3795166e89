#include "server/rpc/provider.h"

#include <mutex>

namespace litemcp::server {

namespace {
constexpr std::string_view level_names[] = {"debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"};
}

std::optional<log_level> parse_log_level(std::string_view s) {
    for (std::size_t i = 0; i < std::size(level_names); ++i)
        if (level_names[i] == s) return static_cast<log_level>(i);
    return std::nullopt;
}

std::string_view to_string(log_level l) { return level_names[static_cast<std::size_t>(l)]; }

void registry::add_tool(tool t) {
    auto name = t.definition.at("name").get<std::string>();
    {
        std::unique_lock lock(mu_);
        tools_[name] = std::make_shared<const tool>(std::move(t));
    }
    changed(list_kind::tools);
}

bool registry::remove_tool(const std::string& name) {
    bool removed;
    {
        std::unique_lock lock(mu_);
        removed = tools_.erase(name) > 0;
    }
    if (removed) changed(list_kind::tools);
    return removed;
}

void registry::add_resource(resource r) {
    auto uri = r.definition.at("uri").get<std::string>();
    {
        std::unique_lock lock(mu_);
        resources_[uri] = std::make_shared<const resource>(std::move(r));
    }
    changed(list_kind::resources);
}

void registry::add_resource_template(resource_template t) {
    auto key = t.definition.at("uriTemplate").get<std::string>();
    {
        std::unique_lock lock(mu_);
        templates_[key] = std::make_shared<const resource_template>(std::move(t));
    }
    changed(list_kind::resources);
}

void registry::add_prompt(prompt p) {
    auto name = p.definition.at("name").get<std::string>();
    {
        std::unique_lock lock(mu_);
        prompts_[name] = std::make_shared<const prompt>(std::move(p));
    }
    changed(list_kind::prompts);
}

void registry::set_completion(completion_handler h) {
    std::unique_lock lock(mu_);
    completion_ = std::move(h);
}

void registry::resource_updated(const std::string& uri) {
    std::vector<update_listener> ls;
    {
        std::shared_lock lock(mu_);
        ls = update_listeners_;
    }
    for (auto& l : ls) l(uri);
}

template <class M>
static auto values_of(const M& m) {
    std::vector<typename M::mapped_type> out;
    out.reserve(m.size());
    for (auto& [k, v] : m) out.push_back(v);
    return out;
}

std::vector<std::shared_ptr<const tool>> registry::tools() const {
    std::shared_lock lock(mu_);
    return values_of(tools_);
}
std::shared_ptr<const tool> registry::find_tool(const std::string& name) const {
    std::shared_lock lock(mu_);
    auto it = tools_.find(name);
    return it == tools_.end() ? nullptr : it->second;
}
std::vector<std::shared_ptr<const resource>> registry::resources() const {
    std::shared_lock lock(mu_);
    return values_of(resources_);
}
std::shared_ptr<const resource> registry::find_resource(const std::string& uri) const {
    std::shared_lock lock(mu_);
    auto it = resources_.find(uri);
    return it == resources_.end() ? nullptr : it->second;
}
std::vector<std::shared_ptr<const resource_template>> registry::templates() const {
    std::shared_lock lock(mu_);
    return values_of(templates_);
}
std::pair<std::shared_ptr<const resource_template>, std::map<std::string, std::string>> registry::match_template(
    const std::string& uri) const {
    std::shared_lock lock(mu_);
    for (auto& [tmpl, t] : templates_)
        if (auto vars = match_uri_template(tmpl, uri)) return {t, std::move(*vars)};
    return {nullptr, {}};
}
std::vector<std::shared_ptr<const prompt>> registry::prompts() const {
    std::shared_lock lock(mu_);
    return values_of(prompts_);
}
std::shared_ptr<const prompt> registry::find_prompt(const std::string& name) const {
    std::shared_lock lock(mu_);
    auto it = prompts_.find(name);
    return it == prompts_.end() ? nullptr : it->second;
}
completion_handler registry::completion() const {
    std::shared_lock lock(mu_);
    return completion_;
}

void registry::on_list_changed(change_listener l) {
    std::unique_lock lock(mu_);
    change_listeners_.push_back(std::move(l));
}
void registry::on_resource_updated(update_listener l) {
    std::unique_lock lock(mu_);
    update_listeners_.push_back(std::move(l));
}

void registry::replace_served(const std::string& owner, std::vector<tool> tools, std::vector<resource> resources,
                              std::vector<prompt> prompts) {
    bool tools_changed = false, resources_changed = false, prompts_changed = false;
    auto drop = [&](auto& map, bool& flag) {
        flag |= std::erase_if(map, [&](auto& kv) { return kv.second->served_by == owner; }) > 0;
    };
    {
        std::unique_lock lock(mu_);
        drop(tools_, tools_changed);
        drop(resources_, resources_changed);
        drop(prompts_, prompts_changed);
        for (auto& t : tools) {
            tools_changed = true;
            auto name = t.definition.at("name").get<std::string>();
            tools_[name] = std::make_shared<const tool>(std::move(t));
        }
        for (auto& r : resources) {
            resources_changed = true;
            auto uri = r.definition.at("uri").get<std::string>();
            resources_[uri] = std::make_shared<const resource>(std::move(r));
        }
        for (auto& p : prompts) {
            prompts_changed = true;
            auto name = p.definition.at("name").get<std::string>();
            prompts_[name] = std::make_shared<const prompt>(std::move(p));
        }
    }
    if (tools_changed) changed(list_kind::tools);
    if (resources_changed) changed(list_kind::resources);
    if (prompts_changed) changed(list_kind::prompts);
}

void registry::changed(list_kind k) {
    std::vector<change_listener> ls;
    {
        std::shared_lock lock(mu_);
        ls = change_listeners_;
    }
    for (auto& l : ls) l(k);
}

std::optional<std::map<std::string, std::string>> match_uri_template(std::string_view tmpl, std::string_view uri) {
    std::map<std::string, std::string> vars;
    std::size_t ti = 0, ui = 0;
    while (ti < tmpl.size()) {
        if (tmpl[ti] == '{') {
            auto close = tmpl.find('}', ti);
            if (close == std::string_view::npos) return std::nullopt;
            auto name = std::string(tmpl.substr(ti + 1, close - ti - 1));
            ti = close + 1;
            // A variable runs to the next literal character of the template (or the end).
            const char stop = ti < tmpl.size() ? tmpl[ti] : '\0';
            auto end = stop ? uri.find(stop, ui) : uri.size();
            if (end == std::string_view::npos || end == ui) return std::nullopt;
            auto value = uri.substr(ui, end - ui);
            if (value.find('/') != std::string_view::npos) return std::nullopt;
            vars[name] = std::string(value);
            ui = end;
        } else {
            if (ui >= uri.size() || uri[ui] != tmpl[ti]) return std::nullopt;
            ++ti;
            ++ui;
        }
    }
    if (ui != uri.size()) return std::nullopt;
    return vars;
}

}  // namespace litemcp::server
