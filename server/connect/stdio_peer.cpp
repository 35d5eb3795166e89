#include "server/connect/stdio_peer.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "server/json/json_text.h"

extern char** environ;

namespace litemcp::server {

namespace {

// A line longer than this is not a message MCP would send: it is dropped.
constexpr std::size_t max_line = 16 * 1024 * 1024;

}  // namespace

std::expected<std::unique_ptr<stdio_peer>, std::string> stdio_peer::start(const std::vector<std::string>& argv,
                                                                           handlers h) {
    if (argv.empty()) return std::unexpected("no command to run");
    int to_child[2], from_child[2];
    if (pipe2(to_child, O_CLOEXEC) != 0 || pipe2(from_child, O_CLOEXEC) != 0)
        return std::unexpected(std::string("pipe: ") + std::strerror(errno));
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, to_child[0], 0);
    posix_spawn_file_actions_adddup2(&actions, from_child[1], 1);
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    pid_t pid = 0;
    const int rc = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    close(to_child[0]);
    close(from_child[1]);
    if (rc != 0) {
        close(to_child[1]);
        close(from_child[0]);
        return std::unexpected("cannot run " + argv[0] + ": " + std::strerror(rc));
    }
    signal(SIGPIPE, SIG_IGN);  // a child gone: write() says so with EPIPE
    return std::make_unique<stdio_peer>(pid, to_child[1], from_child[0], std::move(h));
}

stdio_peer::stdio_peer(pid_t pid, int in, int out, handlers h) : pid_(pid), in_(in), out_(out), h_(std::move(h)) {
    reader_ = std::thread([this] { read_loop(); });
}

stdio_peer::~stdio_peer() {
    {
        std::lock_guard lock(write_mu_);
        if (in_ >= 0) close(in_);
        in_ = -1;
    }
    kill(pid_, SIGTERM);
    for (int i = 0; i < 20; ++i) {
        if (waitpid(pid_, nullptr, WNOHANG) != 0) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        if (i == 19) kill(pid_, SIGKILL);
    }
    if (reader_.joinable()) reader_.join();
    close(out_);
}

bool stdio_peer::send(const json& message) {
    std::string line = to_json(message);
    line.push_back('\n');
    std::lock_guard lock(write_mu_);
    if (in_ < 0) return false;
    std::size_t done = 0;
    while (done < line.size()) {
        const auto n = write(in_, line.data() + done, line.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        done += static_cast<std::size_t>(n);
    }
    return true;
}

void stdio_peer::read_loop() {
    std::string buffer;
    char chunk[65536];
    bool skipping = false;  // inside a line past max_line
    for (;;) {
        const auto n = read(out_, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        buffer.append(chunk, static_cast<std::size_t>(n));
        std::size_t start = 0;
        for (auto nl = buffer.find('\n', start); nl != std::string::npos; nl = buffer.find('\n', start)) {
            std::string_view line(buffer.data() + start, nl - start);
            start = nl + 1;
            if (skipping) {
                skipping = false;
                continue;
            }
            if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
            if (line.empty()) continue;
            auto m = parse_json(line);
            if (m && (m->is_object() || m->is_array())) h_.on_message(std::move(*m));
        }
        buffer.erase(0, start);
        if (buffer.size() > max_line) {
            buffer.clear();
            skipping = true;
        }
    }
    int status = 0;
    waitpid(pid_, &status, 0);
    if (h_.on_exit) h_.on_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
}

}  // namespace litemcp::server
