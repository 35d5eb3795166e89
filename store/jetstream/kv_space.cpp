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

result<bool> kv_space::conditional_write(std::string_view key, std::uint64_t last,
                                         std::optional<std::string_view> value) {
    const auto k = names::record_key(key);
    const auto stream = "KV_" + names_.records_bucket();
    const auto subject = "$KV." + names_.records_bucket() + "." + k;
    // The expected last sequence alone is not enough: nats-server 2.9 checks
    // it before the write's Raft proposal, so two writes expecting the same
    // sequence in flight at once may both pass (nats-server issue 4320). The
    // message id <key>@<sequence> makes them the same message to the
    // stream's deduplication, which is staged at the leader before the
    // proposal: one is stored, the other is a duplicate.
    const std::string id = k + "@" + std::to_string(last);
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MsgId = id.c_str();
    if (last == 0)
        po.ExpectNoMessage = true;
    else
        po.ExpectLastSubjectSeq = last;
    po.MaxWait = static_cast<int64_t>(link_.timeout().count());
    natsMsg* msg = nullptr;
    const std::string_view body = value.value_or(std::string_view{});
    if (auto s = natsMsg_Create(&msg, subject.c_str(), nullptr, body.data(), static_cast<int>(body.size()));
        s != NATS_OK)
        return std::unexpected(nats_error("storing the key " + std::string(key), s));
    if (!value) {  // a purge marker, as kvStore_Purge writes it: it replaces the key's history
        natsStatus h = natsMsgHeader_Set(msg, "KV-Operation", "PURGE");
        if (h == NATS_OK) h = natsMsgHeader_Set(msg, "Nats-Rollup", "sub");
        if (h != NATS_OK) {
            natsMsg_Destroy(msg);
            return std::unexpected(nats_error("removing the key " + std::string(key), h));
        }
    }
    jsPubAck* ack = nullptr;
    jsErrCode jerr{};
    const auto s = js_PublishMsg(&ack, link_.js(), msg, &po, &jerr);
    natsMsg_Destroy(msg);
    const bool duplicate = ack && ack->Duplicate;
    if (ack) jsPubAck_Destroy(ack);
    if (s == NATS_OK) return !duplicate;
    // Refused (another server wrote since: "wrong last sequence", or the same
    // write raced ours), or the answer was lost: what the key holds now says.
    // A purge cannot be told from another server's: then it was not ours.
    auto now = last_message(link_, stream, subject, served_by::leader);
    if (value && now && *now && !(*now)->deleted && (*now)->payload == *value) return true;
    if (now && (*now ? (*now)->seq : 0) != last) return false;
    if (jerr != 0) return false;  // refused by JetStream, the key unchanged
    return std::unexpected(nats_error("storing the key " + std::string(key), s));
}

result<bool> kv_space::create(std::string_view key, std::string_view value) {
    if (key.empty()) return make_error(errc::invalid_argument, "empty key");
    auto m = last_message(link_, "KV_" + names_.records_bucket(),
                          "$KV." + names_.records_bucket() + "." + names::record_key(key), served_by::leader);
    if (!m) return std::unexpected(error{m.error().code, "reading the key " + std::string(key) + ": " + m.error().message});
    if (*m && !(*m)->deleted) return false;
    return conditional_write(key, *m ? (*m)->seq : 0, value);  // after a delete: its marker's sequence
}

result<bool> kv_space::swap(std::string_view key, std::string_view expected, std::string_view value) {
    if (key.empty()) return make_error(errc::invalid_argument, "empty key");
    auto m = last_message(link_, "KV_" + names_.records_bucket(),
                          "$KV." + names_.records_bucket() + "." + names::record_key(key), served_by::leader);
    if (!m) return std::unexpected(error{m.error().code, "reading the key " + std::string(key) + ": " + m.error().message});
    if (!*m || (*m)->deleted || (*m)->payload != expected) return false;
    return conditional_write(key, (*m)->seq, value);
}

result<std::optional<std::string>> kv_space::take(std::string_view key) {
    if (key.empty()) return make_error(errc::invalid_argument, "empty key");
    constexpr int max_rounds = 16;
    std::uint64_t refused_at = 0;
    for (int round = 0; round < max_rounds; ++round) {
        auto m = last_message(link_, "KV_" + names_.records_bucket(),
                              "$KV." + names_.records_bucket() + "." + names::record_key(key), served_by::leader);
        if (!m)
            return std::unexpected(error{m.error().code, "reading the key " + std::string(key) + ": " + m.error().message});
        if (!*m || (*m)->deleted) return std::nullopt;
        if ((*m)->seq == refused_at)  // refused, and not for a write between
            return make_error(errc::io_error, "JetStream refused to remove the key " + std::string(key));
        auto purged = conditional_write(key, (*m)->seq, std::nullopt);
        if (!purged) return std::unexpected(purged.error());
        if (*purged) return std::move((*m)->payload);
        // Another write came between: the key's newest value is taken, or
        // another server took it (then the next read finds it gone).
        refused_at = (*m)->seq;
    }
    return make_error(errc::io_error, "the key " + std::string(key) + " kept changing while it was being removed");
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
