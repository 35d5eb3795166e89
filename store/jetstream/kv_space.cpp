#include "store/jetstream/kv_space.h"

#include <algorithm>
#include <charconv>
#include <cstring>

#include "store/jetstream/stored_message.h"

namespace litemcp::store::jetstream {

namespace {

result<kvStore*> open_bucket(jsCtx* js, const std::string& bucket, int replicas) {
    kvStore* kv = nullptr;
    if (js_KeyValue(&kv, js, bucket.c_str()) == NATS_OK) return kv;
    kvConfig cfg;
    kvConfig_Init(&cfg);
    cfg.Bucket = bucket.c_str();
    cfg.History = 1;
    cfg.StorageType = js_FileStorage;
    cfg.Replicas = replicas;
    if (auto s = js_CreateKeyValue(&kv, js, &cfg); s != NATS_OK)
        return std::unexpected(nats_error("creating the key-value bucket " + bucket, s));
    return kv;
}

struct entry_deleter {
    void operator()(kvEntry* e) const { kvEntry_Destroy(e); }
};
using entry_ptr = std::unique_ptr<kvEntry, entry_deleter>;

// A key's value as the bucket's leader has it: a put acknowledged anywhere
// is there, where a replica serving Direct Get may not have it yet (a server
// that just made a session is followed at once by another that looks it up).
result<std::optional<std::string>> get_value(const nats_link& link, const std::string& bucket, const std::string& key,
                                             std::string_view what) {
    auto m = last_message(link, "KV_" + bucket, "$KV." + bucket + "." + key, served_by::leader);
    if (!m) return std::unexpected(error{m.error().code, std::string(what) + ": " + m.error().message});
    if (!*m || (*m)->deleted) return std::optional<std::string>();
    return std::optional<std::string>(std::move((*m)->payload));
}

}  // namespace

kv_space::kv_space(nats_link& link, const names& n) : link_(link), names_(n) {}

kv_space::~kv_space() {
    if (records_) kvStore_Destroy(records_);
    if (cursors_) kvStore_Destroy(cursors_);
}

result<void> kv_space::open(int replicas) {
    auto r = open_bucket(link_.js(), names_.records_bucket(), replicas);
    if (!r) return std::unexpected(r.error());
    records_ = *r;
    auto c = open_bucket(link_.js(), names_.cursors_bucket(), replicas);
    if (!c) return std::unexpected(c.error());
    cursors_ = *c;
    return {};
}

result<void> kv_space::put(std::string_view key, std::string_view value) {
    if (key.empty()) return make_error(errc::invalid_argument, "empty key");
    const auto k = names::record_key(key);
    if (auto s = kvStore_Put(nullptr, records_, k.c_str(), value.data(), static_cast<int>(value.size())); s != NATS_OK)
        return std::unexpected(nats_error("storing the key " + std::string(key), s));
    return {};
}

result<std::optional<std::string>> kv_space::get(std::string_view key) const {
    if (key.empty()) return std::optional<std::string>();
    return get_value(link_, names_.records_bucket(), names::record_key(key), "reading the key " + std::string(key));
}

result<void> kv_space::remove(std::string_view key) {
    if (key.empty()) return {};
    const auto k = names::record_key(key);
    // A purge leaves one marker instead of the whole history.
    if (auto s = kvStore_Purge(records_, k.c_str(), nullptr); s != NATS_OK && s != NATS_NOT_FOUND)
        return std::unexpected(nats_error("deleting the key " + std::string(key), s));
    return {};
}

result<bool> kv_space::create(std::string_view key, std::string_view value) {
    if (key.empty()) return make_error(errc::invalid_argument, "empty key");
    const auto k = names::record_key(key);
    if (kvStore_Create(nullptr, records_, k.c_str(), value.data(), static_cast<int>(value.size())) == NATS_OK) return true;
    // Refused: another server stored it first (or the bucket is unreachable,
    // which the read says).
    auto now = get(key);
    if (!now) return std::unexpected(now.error());
    if (*now) return false;
    return make_error(errc::io_error, "storing the key " + std::string(key) + " failed");
}

result<bool> kv_space::swap(std::string_view key, std::string_view expected, std::string_view value) {
    if (key.empty()) return make_error(errc::invalid_argument, "empty key");
    const auto k = names::record_key(key);
    auto m = last_message(link_, "KV_" + names_.records_bucket(), "$KV." + names_.records_bucket() + "." + k,
                          served_by::leader);
    if (!m) return std::unexpected(error{m.error().code, "reading the key " + std::string(key) + ": " + m.error().message});
    if (!*m || (*m)->deleted || (*m)->payload != expected) return false;
    uint64_t revision = 0;
    const auto s = kvStore_Update(&revision, records_, k.c_str(), value.data(), static_cast<int>(value.size()), (*m)->seq);
    if (s == NATS_OK) return true;
    // Refused when another server changed it since the read (JetStream's
    // "wrong last sequence"); anything else is the bucket being unreachable.
    auto now = last_message(link_, "KV_" + names_.records_bucket(), "$KV." + names_.records_bucket() + "." + k,
                            served_by::leader);
    if (now && (!*now || (*now)->seq != (*m)->seq)) return false;
    return std::unexpected(nats_error("storing the key " + std::string(key), s));
}

result<std::vector<std::pair<std::string, std::string>>> kv_space::scan(std::string_view prefix,
                                                                        std::string_view after,
                                                                        std::size_t limit) const {
    const auto filter = names::record_filter(prefix);
    kvWatchOptions wo;
    kvWatchOptions_Init(&wo);
    wo.IgnoreDeletes = true;
    kvWatcher* w = nullptr;
    if (auto s = kvStore_Watch(&w, records_, filter.c_str(), &wo); s != NATS_OK)
        return std::unexpected(nats_error("listing the keys " + std::string(prefix) + "*", s));
    std::vector<std::pair<std::string, std::string>> out;
    natsStatus s = NATS_OK;
    for (;;) {
        kvEntry* e = nullptr;
        s = kvWatcher_Next(&e, w, link_.timeout().count());
        if (s != NATS_OK || !e) break;  // a null entry: every present key was delivered
        entry_ptr entry(e);
        auto key = names::key_of_record(kvEntry_Key(e));
        if (!key || !key->starts_with(prefix) || (!after.empty() && *key <= after)) continue;
        out.emplace_back(std::move(*key), std::string(static_cast<const char*>(kvEntry_Value(e)),
                                                      static_cast<std::size_t>(kvEntry_ValueLen(e))));
    }
    kvWatcher_Destroy(w);
    if (s != NATS_OK) return std::unexpected(nats_error("listing the keys " + std::string(prefix) + "*", s));
    std::sort(out.begin(), out.end());
    if (out.size() > limit) out.resize(limit);
    return out;
}

result<void> kv_space::set_cursor(std::string_view consumer, std::string_view topic, std::uint64_t offset) {
    const auto k = names::cursor_key(consumer, topic);
    const auto v = std::to_string(offset);
    if (auto s = kvStore_PutString(nullptr, cursors_, k.c_str(), v.c_str()); s != NATS_OK)
        return std::unexpected(nats_error("storing the cursor of " + std::string(consumer), s));
    return {};
}

result<std::optional<std::uint64_t>> kv_space::cursor(std::string_view consumer, std::string_view topic) const {
    auto v = get_value(link_, names_.cursors_bucket(), names::cursor_key(consumer, topic),
                       "reading the cursor of " + std::string(consumer));
    if (!v) return std::unexpected(v.error());
    if (!*v) return std::optional<std::uint64_t>();
    std::uint64_t n = 0;
    auto [p, ec] = std::from_chars((*v)->data(), (*v)->data() + (*v)->size(), n);
    if (ec != std::errc()) return make_error(errc::corrupt, "cursor of " + std::string(consumer) + " is not a number");
    return std::optional<std::uint64_t>(n);
}

result<void> kv_space::remove_cursors(std::string_view topic) {
    jsOptions o;
    jsOptions_Init(&o);
    const std::string subject = "$KV." + names_.cursors_bucket() + "." + names::cursor_filter(topic);
    o.Stream.Purge.Subject = subject.c_str();
    const std::string stream = "KV_" + names_.cursors_bucket();
    jsErrCode jerr{};
    if (auto s = js_PurgeStream(link_.js(), stream.c_str(), &o, &jerr); s != NATS_OK)
        return std::unexpected(nats_error("forgetting the cursors of " + std::string(topic), s));
    return {};
}

}  // namespace litemcp::store::jetstream
