// An MCP server run as a child process and spoken to over stdio (the MCP
// stdio transport: one JSON-RPC message per line on its stdin and stdout;
// its stderr is litemcp-connect's).
//
// Threading: send() from any thread; on_message and on_exit run on the
// peer's reader thread, one at a time. Lifetime: the destructor ends the
// child (SIGTERM, then SIGKILL after 2 s) and joins the reader.
#pragma once

#include <sys/types.h>

#include <expected>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "server/json/json.h"

namespace litemcp::server {

class stdio_peer {
public:
    struct handlers {
        std::function<void(json message)> on_message;  // a line that is a JSON object or array
        std::function<void(int status)> on_exit;        // the child ended (its exit status); stdout closed
    };
    // Starts argv[0] (searched on PATH) with argv.
    static std::expected<std::unique_ptr<stdio_peer>, std::string> start(const std::vector<std::string>& argv, handlers h);
    ~stdio_peer();

    // One message, as one line; false once the child's stdin is closed.
    bool send(const json& message);

    stdio_peer(pid_t pid, int in, int out, handlers h);

private:
    void read_loop();

    pid_t pid_;
    int in_;   // the child's stdin (we write)
    int out_;  // the child's stdout (we read)
    handlers h_;
    std::mutex write_mu_;
    std::thread reader_;
};

}  // namespace litemcp::server
