#include "store/jetstream/jetstream_store.h"

#include <spdlog/spdlog.h>

#include <future>

#include "store/jetstream/message_codec.h"
#include "store/jetstream/stored_message.h"

namespace litemcp::store::jetstream {

namespace {

std::uint64_t wall_ms() {
    using namespace std::chrono;
    return static_cast<std::uint64_t>(duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count());
}

// JetStream's error code for "stream name already in use".
constexpr int stream_name_exists = 10058;
constexpr int stream_create_attempts = 3;

}  // namespace

jetstream_store::jetstream_store(store_options o)
    : opts_(std::move(o)), names_(opts_.nats.prefix, opts_.nats.shards) {
    for (auto& p : opts_.parents) parents_[p.name] = p.policy;
}

jetstream_store::~jetstream_store() {
    if (reclaimer_) reclaimer_->stop();
    if (signals_) signals_->stop();
    if (router_) router_->stop();
    if (publisher_) publisher_->stop();
    if (link_) link_->close();
    // kv_, router_ and publisher_ release their libnats handles before the
    // connection itself goes (members are destroyed in reverse order).
    kv_.reset();
    reclaimer_.reset();
    signals_.reset();
    router_.reset();
    publisher_.reset();
}

result<std::unique_ptr<store>> jetstream_store::open(store_options options) {
    std::unique_ptr<jetstream_store> s(new jetstream_store(std::move(options)));
    if (auto r = s->start(); !r) return std::unexpected(r.error());
    return std::unique_ptr<store>(std::move(s));
}

result<void> jetstream_store::start() {
    const auto& n = opts_.nats;
    if (n.prefix.empty() || n.prefix.size() > 32 || encode_token(n.prefix) != n.prefix)
        return make_error(errc::invalid_argument, "the NATS prefix must be 1 to 32 of A-Z a-z 0-9 _ -");
    if (n.replicas < 1 || n.replicas > 5) return make_error(errc::invalid_argument, "NATS replicas must be 1 to 5");
    if (n.shards < 1 || n.shards > 64) return make_error(errc::invalid_argument, "NATS shards must be 1 to 64");
    if (n.request_timeout.count() <= 0) return make_error(errc::invalid_argument, "the NATS request timeout must be positive");
    auto link = nats_link::connect(n);
    if (!link) return std::unexpected(link.error());
    link_ = std::move(*link);
    kv_ = std::make_unique<kv_space>(*link_, names_);
    if (auto r = kv_->open(n.replicas); !r) return r;
    std::vector<parent_topic> parents;
    for (auto& [name, policy] : parents_) parents.push_back({name, policy});
    if (auto r = ensure_streams(parents); !r) return r;
    publisher_ = std::make_unique<publisher>(*link_, opts_.max_pending_appends);
    if (auto r = publisher_->start(); !r) return r;
    router_ = std::make_unique<wake_router>(*link_, names_, ready_);
    signals_ = std::make_unique<signals>(*link_, names_);
    if (auto r = signals_->start(); !r) return r;
    signals_->on_engine_signal([this](std::string_view channel, std::string_view payload) -> std::optional<std::string> {
        if (channel == idle_reclaimer::bound_question && ready_.has_bindings(payload)) return std::string("1");
        return std::nullopt;
    });
    link_->on_reconnect([this] {
        if (router_) router_->catch_up();
    });
    reclaimer_ = std::make_unique<idle_reclaimer>(
        idle_reclaimer::parts{*link_, names_, *signals_,
                              [this] {
                                  std::shared_lock lock(parents_mu_);
                                  std::vector<std::pair<std::string, std::chrono::milliseconds>> out;
                                  for (auto& [name, policy] : parents_) out.emplace_back(name, policy.idle_ttl);
                                  return out;
                              },
                              [this](std::string_view topic) { return ready_.has_bindings(topic); },
                              opts_.on_reclaimed},
        opts_.reclaim_interval);
    reclaimer_->start();
    return {};
}

result<void> jetstream_store::ensure_stream(const std::string& parent, int shard, const topic_policy& policy) {
    const auto name = names_.stream(parent, shard);
    const auto subjects = names_.stream_subjects(parent, shard);
    auto dest = names_.wake_subjects(parent, shard);
    dest.replace(dest.size() - 1, 1, "{{wildcard(1)}}");
    const char* subject_list[] = {subjects.c_str()};
    jsRePublish rp;
    jsRePublish_Init(&rp);
    rp.Source = subjects.c_str();
    rp.Destination = dest.c_str();
    jsStreamConfig cfg;
    jsStreamConfig_Init(&cfg);
    cfg.Name = name.c_str();
    cfg.Subjects = subject_list;
    cfg.SubjectsLen = 1;
    cfg.Storage = js_FileStorage;
    cfg.Replicas = opts_.nats.replicas;
    cfg.MaxMsgsPerSubject = static_cast<int64_t>(policy.max_records);
    cfg.MaxAge = std::chrono::duration_cast<std::chrono::nanoseconds>(policy.idle_ttl).count();
    cfg.AllowDirect = true;
    cfg.RePublish = &rp;
    // A replicated stream's creation waits for its leader election, which
    // on a loaded cluster can outlast one request timeout. Adding is
    // idempotent (an existing stream is updated), so a timeout is tried
    // again, each try waiting three request timeouts.
    jsOptions o;
    jsOptions_Init(&o);
    o.Wait = 3 * link_->timeout().count();
    natsStatus s = NATS_OK;
    for (int attempt = 0; attempt < stream_create_attempts; ++attempt) {
        jsErrCode jerr{};
        s = js_AddStream(nullptr, link_->js(), &cfg, &o, &jerr);
        if (s != NATS_OK && static_cast<int>(jerr) == stream_name_exists) {
            jerr = {};
            s = js_UpdateStream(nullptr, link_->js(), &cfg, &o, &jerr);
        }
        if (s != NATS_TIMEOUT) break;
    }
    if (s != NATS_OK) return std::unexpected(nats_error("creating the stream " + name, s));
    return {};
}

result<void> jetstream_store::ensure_streams(const std::vector<parent_topic>& parents) {
    // Each new replicated stream waits for its own leader election: made
    // side by side, a start makes them all in about the time of one.
    std::vector<std::future<result<void>>> made;
    for (auto& p : parents) {
        if (auto r = parse_topic_name(p.name + "/x"); !r) return std::unexpected(r.error());
        for (int shard = 0; shard < names_.shards(); ++shard)
            made.push_back(std::async(std::launch::async, [this, &p, shard] { return ensure_stream(p.name, shard, p.policy); }));
    }
    result<void> first = {};
    for (auto& f : made)
        if (auto r = f.get(); !r && first) first = std::move(r);
    return first;
}

result<void> jetstream_store::define_parent(parent_topic parent) {
    if (auto r = ensure_streams({parent}); !r) return r;
    std::unique_lock lock(parents_mu_);
    parents_[parent.name] = parent.policy;
    return {};
}

result<topic_policy> jetstream_store::policy_for(std::string_view topic) const {
    auto parent = parse_topic_name(topic);
    if (!parent) return std::unexpected(parent.error());
    std::shared_lock lock(parents_mu_);
    auto it = parents_.find(*parent);
    if (it == parents_.end()) return make_error(errc::unknown_parent, "unknown parent topic '" + std::string(*parent) + "'");
    return it->second;
}

// ---- appends ----------------------------------------------------------------

void jetstream_store::count_result(bool ok, std::size_t records, std::size_t bytes) {
    if (ok) {
        appends_.fetch_add(records);
        append_bytes_.fetch_add(bytes);
        failing_.store(false);
    } else {
        append_errors_.fetch_add(records);
        failing_.store(true);
        last_failure_ms_.store(wall_ms());
    }
}

void jetstream_store::send(std::string_view topic, std::span<const record_spec> records, append_callback done) {
    auto fail = [&](error e) {
        append_errors_.fetch_add(records.size());
        if (done) done(std::unexpected(std::move(e)));
    };
    auto policy = policy_for(topic);
    if (!policy) return fail(policy.error());
    if (records.empty()) return fail(error{errc::invalid_argument, "an empty group"});
    if (records.size() > max_group_records)
        return fail(error{errc::invalid_argument, "a group holds at most " + std::to_string(max_group_records) + " records"});
    for (auto& r : records)
        if (r.payload.size() > policy->max_record_size)
            return fail(error{errc::record_too_large, "record of " + std::to_string(r.payload.size()) +
                                                          " bytes exceeds the limit of " +
                                                          std::to_string(policy->max_record_size)});
    const auto addr = names_.of(topic);
    const std::uint64_t now = wall_ms();
    publisher::headers hdrs{{header_timestamp, std::to_string(now)}};
    std::string group;
    std::string_view payload;
    if (records.size() == 1) {
        payload = records.front().payload;
        if (records.front().flags) hdrs.emplace_back(header_flags, std::to_string(records.front().flags));
    } else {
        std::vector<group_record> parts;
        parts.reserve(records.size());
        for (auto& r : records) parts.push_back({r.payload, r.flags});
        group = encode_group(parts);
        payload = group;
        hdrs.emplace_back(header_group, std::to_string(records.size()));
    }
    const auto max_payload = natsConnection_GetMaxPayload(link_->connection());
    if (max_payload > 0 && payload.size() + 256 > static_cast<std::uint64_t>(max_payload))
        return fail(error{errc::record_too_large, "an append of " + std::to_string(payload.size()) +
                                                      " bytes exceeds the NATS server's max_payload of " +
                                                      std::to_string(max_payload)});
    const std::size_t n = records.size(), bytes = payload.size();
    publisher_->publish(addr.subject, hdrs, payload,
                        [this, n, bytes, now, done = std::move(done)](result<std::uint64_t> seq) {
                            count_result(seq.has_value(), n, bytes);
                            if (!done) return;
                            if (!seq) return done(std::unexpected(seq.error()));
                            done(append_ack{offset_of(*seq, n - 1), *seq, now});
                        });
}

result<append_ack> jetstream_store::append(std::string_view topic, std::string_view payload, std::uint32_t flags) {
    std::promise<result<append_ack>> p;
    auto f = p.get_future();
    const record_spec one{payload, flags};
    send(topic, std::span(&one, 1), [&p](result<append_ack> r) { p.set_value(std::move(r)); });
    return f.get();
}

void jetstream_store::append_async(std::string_view topic, std::string_view payload, std::uint32_t flags,
                                   append_callback done) {
    const record_spec one{payload, flags};
    send(topic, std::span(&one, 1), std::move(done));
}

void jetstream_store::append_group_async(std::string_view topic, std::span<const record_spec> records,
                                         append_callback done) {
    send(topic, records, std::move(done));
}

void jetstream_store::append_group_deferred(std::string_view topic, std::span<const record_spec> records,
                                            append_callback done) {
    send(topic, records, std::move(done));
}

// ---- topics, cursors, keys ---------------------------------------------------

result<void> jetstream_store::remove_topic(std::string_view topic) {
    if (auto r = parse_topic_name(topic); !r) return std::unexpected(r.error());
    const auto addr = names_.of(topic);
    jsOptions o;
    jsOptions_Init(&o);
    o.Stream.Purge.Subject = addr.subject.c_str();
    jsErrCode jerr{};
    reclaimer_->removed(topic);  // before it leaves its stream: not idleness
    if (auto s = js_PurgeStream(link_->js(), addr.stream.c_str(), &o, &jerr); s != NATS_OK)
        return std::unexpected(nats_error("removing " + std::string(topic), s));
    return kv_->remove_cursors(topic);
}

result<void> jetstream_store::set_cursor(std::string_view consumer, std::string_view topic, std::uint64_t offset) {
    if (auto r = validate_consumer_id(consumer); !r) return r;
    if (auto r = parse_topic_name(topic); !r) return std::unexpected(r.error());
    return kv_->set_cursor(consumer, topic, offset);
}

result<std::optional<std::uint64_t>> jetstream_store::cursor(std::string_view consumer, std::string_view topic) const {
    if (auto r = parse_topic_name(topic); !r) return std::unexpected(r.error());
    return kv_->cursor(consumer, topic);
}

result<void> jetstream_store::kv_put(std::string_view key, std::string_view value) { return kv_->put(key, value); }
result<std::optional<std::string>> jetstream_store::kv_get(std::string_view key) const { return kv_->get(key); }
result<void> jetstream_store::kv_delete(std::string_view key) { return kv_->remove(key); }
result<bool> jetstream_store::kv_create(std::string_view key, std::string_view value) { return kv_->create(key, value); }
result<bool> jetstream_store::kv_swap(std::string_view key, std::string_view expected, std::string_view value) {
    return kv_->swap(key, expected, value);
}
result<std::optional<std::string>> jetstream_store::kv_take(std::string_view key) { return kv_->take(key); }
result<std::vector<std::pair<std::string, std::string>>> jetstream_store::kv_scan(std::string_view prefix,
                                                                                  std::string_view after,
                                                                                  std::size_t limit) const {
    return kv_->scan(prefix, after, limit);
}

// ---- the ready set -----------------------------------------------------------

result<void> jetstream_store::add_consumer(std::string_view consumer, wake_fn wake) {
    if (auto r = validate_consumer_id(consumer); !r) return r;
    ready_.add_consumer(consumer, std::move(wake));
    return {};
}

void jetstream_store::remove_consumer(std::string_view consumer) {
    auto topics = ready_.bindings_of(consumer);
    ready_.remove_consumer(consumer);
    for (auto& t : topics) (void)router_->sync(t);
}

result<void> jetstream_store::bind(std::string_view consumer, std::string_view topic) {
    if (auto r = parse_topic_name(topic); !r) return std::unexpected(r.error());
    // Listen first, then look: an append between the two wakes us either way.
    if (!ready_.bind(consumer, topic, false))
        return make_error(errc::not_found, "consumer '" + std::string(consumer) + "' is not registered");
    if (auto r = router_->sync(topic); !r) return r;
    // The leader knows the newest record even when the nearest replica lags.
    const auto addr = names_.of(topic);
    auto last = last_message(*link_, addr.stream, addr.subject, served_by::leader);
    if (!last) return std::unexpected(last.error());
    if (*last) {
        router_->note_end(topic, (*last)->seq);
        ready_.mark_ready(consumer, topic);
    }
    return {};
}

void jetstream_store::unbind(std::string_view consumer, std::string_view topic) {
    ready_.unbind(consumer, topic);
    (void)router_->sync(topic);
}

std::vector<std::string> jetstream_store::take_ready(std::string_view consumer) { return ready_.take_ready(consumer); }
void jetstream_store::mark_ready(std::string_view consumer, std::string_view topic) { ready_.mark_ready(consumer, topic); }
void jetstream_store::suspend(std::string_view consumer, std::string_view topic, std::chrono::milliseconds duration) {
    ready_.suspend(consumer, topic, duration);
}
void jetstream_store::resume(std::string_view consumer, std::string_view topic) { ready_.resume(consumer, topic); }

// ---- views -------------------------------------------------------------------

std::vector<parent_info> jetstream_store::parents() const {
    std::vector<parent_info> out;
    {
        std::shared_lock lock(parents_mu_);
        for (auto& [name, policy] : parents_) out.push_back({name, policy, 0});
    }
    for (auto& p : out)
        for (int shard = 0; shard < names_.shards(); ++shard) {
            jsStreamInfo* si = nullptr;
            jsErrCode jerr{};
            const auto stream = names_.stream(p.name, shard);
            if (js_GetStreamInfo(&si, link_->js(), stream.c_str(), nullptr, &jerr) != NATS_OK) continue;
            p.lite_topics += static_cast<std::uint64_t>(si->State.NumSubjects);
            jsStreamInfo_Destroy(si);
        }
    return out;
}

void jetstream_store::observe_appends(append_observer observer) { router_->observe(std::move(observer)); }

void jetstream_store::on_signal(signal_handler handler) { signals_->on_signal(std::move(handler)); }

result<void> jetstream_store::signal(std::string_view channel, std::string_view payload) {
    auto r = signals_->send(channel, payload);
    if (!r) spdlog::warn("store: {} ({} bytes)", r.error().message, payload.size());
    return r;
}

void jetstream_store::ask(std::string_view channel, std::string_view payload, std::chrono::milliseconds wait,
                          answer_fn done) {
    signals_->ask(channel, payload, wait, std::move(done));
}

store_stats jetstream_store::stats() const {
    store_stats s;
    const auto p = publisher_->stats();
    s.remote = true;
    s.appends = appends_.load();
    s.append_bytes = append_bytes_.load();
    s.append_errors = append_errors_.load();
    s.append_batches = p.acked;
    s.connected = link_->connected();
    s.writes_failing = failing_.load() || !s.connected;
    s.last_write_failure_ms = last_failure_ms_.load();
    s.reconnects = link_->reconnects();
    s.publish_micros = p.ack_micros;
    s.publish_buckets = p.ack_buckets;
    s.wake_gaps = router_->gaps();
    s.reclaimed_topics = reclaimer_->reclaimed();
    s.watched_topics = router_->watched();
    const auto r = ready_.stats();
    s.consumers = r.consumers;
    s.bindings = r.bindings;
    s.wakes = r.wakes;
    return s;
}

}  // namespace litemcp::store::jetstream
