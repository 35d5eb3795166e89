// Answers a request that was recorded as started in a session's topic and
// never answered because the process running it stopped (kill -9, a crash,
// or a graceful stop past its grace period). Its POST stream gets a final
// record: a JSON-RPC error with rpc_code::request_interrupted, so a client
// that resumes the stream with Last-Event-ID completes instead of waiting.
//
// Requests handed to a worker are not interrupted by a restart (their call
// stays queued and the worker's answer finishes them: their stream is live);
// tasks run again after a restart (tasks.md). Neither reaches this file.
//
// Threading: any thread that may wait for the store (the delivery or handler
// pool), never an I/O thread: it reads the topic and appends synchronously.
#pragma once

#include <cstdint>

#include "server/rpc/json_rpc.h"
#include "server/sessions/session.h"
#include "store/store.h"

namespace litemcp::server {

// The error an interrupted request gets, and its response message.
rpc_failure interrupted_failure();
json interrupted_error(const json& id);

enum class interruption_outcome {
    answered,          // the error is in the topic now
    already_answered,  // the stream has its final record: nothing to do
    live,              // the request runs here (or is being answered): its final will come
    failed,            // the topic could not be read or written (logged)
};

// Closes stream `request` of session s (the offset of its request record)
// when nothing runs it in this process and it has no final record. Two
// callers at once record one error: they take turns (session_state::
// closing_mu), and the second finds the first one's final.
interruption_outcome answer_interrupted(store::store& st, session_state& s, std::uint64_t request);

}  // namespace litemcp::server
