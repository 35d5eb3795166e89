// The parent topics litemcp defines in the store, and their policies
// (docs/server.md, "Sessions live in the store"): sessions, the change log, worker queues,
// dead letters and tasks.
#include "server/app/mcp_server.h"

namespace litemcp::server {

std::vector<store::parent_topic> builtin_parents(const mcp_options& o) {
    store::topic_policy session;
    session.idle_ttl = o.session_ttl;
    session.max_records = o.session_retention_records;
    session.max_bytes = o.session_retention_bytes;
    session.max_lite_topics = o.max_sessions + 1024;
    session.max_record_size = 4u << 20;
    store::topic_policy changes;
    changes.idle_ttl = std::chrono::hours(24 * 365);
    changes.max_records = 10'000;
    changes.max_record_size = 64u << 10;
    // A worker's queue lives as long as the worker is registered (the
    // deregistration removes it); dead letters are kept for a week.
    store::topic_policy worker;
    worker.idle_ttl = std::chrono::hours(24 * 365);
    worker.max_records = 1'000'000;
    worker.max_bytes = 1ull << 30;
    worker.max_record_size = 4u << 20;
    store::topic_policy dlq;
    dlq.idle_ttl = std::chrono::hours(24 * 7);
    dlq.max_records = 10'000;
    dlq.max_bytes = 64u << 20;
    dlq.max_record_size = 4u << 20;
    // A task lives its ttlMs (the server removes it then); the idle TTL is
    // only a backstop for a task whose deadline key was lost.
    store::topic_policy task;
    task.idle_ttl = o.task_max_ttl + std::chrono::hours(1);
    task.max_records = 10'000;
    task.max_bytes = 64u << 20;
    task.max_record_size = 4u << 20;
    return {{"mcp.session", session}, {"mcp.changes", changes}, {"mcp.worker", worker}, {"mcp.dlq", dlq},
            {"mcp.task", task}};
}

}  // namespace litemcp::server
