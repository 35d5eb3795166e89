// The registered workers (docs/workers.md): their definitions and
// credentials (recorded under "worker/<name>"), their instances, whether
// they are online, and what they publish in the registry. Registering checks
// the definition, the credential or owner, the worker limit and every name
// against what others serve; it answers in worker_outcomes, never HTTP.
//
// Threading: not thread-safe by itself: the hub calls it with the hub's
// mutex held, except republish(), which takes that mutex itself (it runs
// as an effect, after the mutex is released). Lifetime: the hub's.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "server/rpc/provider.h"
#include "server/workers/worker_hub.h"
#include "store/store.h"

namespace litemcp::server {

class registrations {
public:
    using effects = std::vector<std::function<void()>>;  // run after the hub's mutex is released
    struct parts {
        store::store& st;
        registry& reg;
        const worker_options& options;
        std::mutex& hub_mu;
        std::string node;  // this server's name among those sharing the store (hub_peers::node)
        // A worker's queue has records to read (the store's wake-up).
        std::function<void(const std::string& worker)> wake;
        // A new worker goes offline unless an instance attaches in time.
        std::function<void(const std::string& worker, std::uint64_t presence)> watch_presence;
    };
    explicit registrations(parts p) : p_(std::move(p)) {}

    std::map<std::string, std::unique_ptr<hub_worker>>& all() { return workers_; }
    const std::map<std::string, std::unique_ptr<hub_worker>>& all() const { return workers_; }
    hub_worker* find(const std::string& name);

    // Reads every registration from the store (at start).
    store::result<void> load();
    // Registers a worker, or registers it again: owner is the principal
    // registering (it may do so without the credential).
    // trusted: the hub's own change (an upstream's new lists), no credential needed.
    worker_answer add(const json& body, const std::optional<std::string>& credential, const std::string& owner,
                      effects& fx, bool trusted = false);
    // f(name) runs as an effect of every publish (see worker_hub::on_registration).
    void on_change(std::function<void(const std::string& name)> f) { changed_ = std::move(f); }
    // The worker when the credential is its own; otherwise null, with why in denied.
    hub_worker* authorized(const std::string& name, const std::optional<std::string>& credential,
                           worker_answer& denied);
    // Forgets a worker (its record too); its calls are the caller's.
    void remove(const std::string& name);
    // Forgets a worker whose record another server removed.
    void forget(const std::string& name) { workers_.erase(name); }
    // Takes the registration another server stored (record: its text): a
    // new worker, or one registered again, as add() would have made it.
    std::expected<void, std::string> refresh(const std::string& name, const std::string& record, effects& fx);

    // What describe() and the admin API show; in_flight: calls delivered now.
    json describe(const hub_worker& w, std::size_t in_flight) const;
    std::optional<std::string> owner(list_kind kind, const std::string& key) const;
    std::shared_ptr<const tool> worker_tool(const std::string& name) const;

    // Saves w's status: its counters and since when it is offline (they
    // survive restarts; see status_flush).
    void save_status(hub_worker& w);

    // Queues a republish of w: the registry lists what it serves while it is online.
    void publish(const hub_worker& w, effects& fx);

private:
    // A shared store: adds w.save_in_flight to the worker's status record;
    // false when the store did not confirm it (it is tried again, the same).
    bool add_status(hub_worker& w, const std::string& key);
    std::expected<std::unique_ptr<hub_worker>, std::string> make(const json& record) const;
    // A tool, resource or prompt of the registration that another worker or
    // the server itself serves.
    std::optional<worker_answer> name_clash(const std::string& name, const json& body) const;
public:
    // Who else serves a resource URI: a worker's name, "this server", or
    // empty when nobody but the worker `name` does.
    std::string resource_holder(const std::string& name, const std::string& uri) const;

private:
    void republish(const std::string& name);

    parts p_;
    std::mutex publish_mu_;  // orders republish(); taken before the hub's mutex, never while holding it
    std::map<std::string, std::unique_ptr<hub_worker>> workers_;
    std::function<void(const std::string& name)> changed_;
};

}  // namespace litemcp::server
