// A litemcp worker in C++: copy it and replace the tools with yours. It needs
// nothing but POSIX sockets and nlohmann-json (plain HTTP to a litemcp on the
// same host or network; put TLS in front with a sidecar if you need it).
//
// It registers two tools and keeps one SSE stream open; each event on it is
// one MCP JSON-RPC message: io.litemcp/attached first, then tools/call
// requests (the JSON-RPC id is the call's id) and notifications/cancelled.
// Each call runs on a thread of its own and posts JSON-RPC messages back to
// /workers/<name>/calls/<id>: notifications/progress, then the JSON-RPC
// response. The credential from the first registration is kept in a state
// file, so a restarted worker registers again under the same name and gets
// its queue back.
//
//   litemcp-example-worker [--host 127.0.0.1] [--port 8080] [--name cpp-tools]
//                          [--state ./cpp-tools.credential] [--concurrency 4]
//
// Tools:
//   fibonacci     the n-th Fibonacci number (answers at once)
//   count_primes  the primes below n, counted in 20 slices with progress
//                 (a long-running tool; stops when the client cancels)
#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>

using json = nlohmann::json;

namespace {

// ---- a very small HTTP/1.1 client ---------------------------------------------

struct endpoint {
    std::string host = "127.0.0.1";
    std::string port = "8080";
    std::string credential;
};

class connection {
public:
    explicit connection(const endpoint& ep) {
        addrinfo hints{}, *res = nullptr;
        hints.ai_socktype = SOCK_STREAM;
        if (getaddrinfo(ep.host.c_str(), ep.port.c_str(), &hints, &res) != 0 || !res)
            throw std::runtime_error("cannot resolve " + ep.host);
        fd_ = ::socket(res->ai_family, res->ai_socktype, res->ai_protocol);
        const bool ok = fd_ >= 0 && ::connect(fd_, res->ai_addr, res->ai_addrlen) == 0;
        freeaddrinfo(res);
        if (!ok) throw std::runtime_error("cannot connect to " + ep.host + ":" + ep.port);
    }
    ~connection() {
        if (fd_ >= 0) ::close(fd_);
    }
    connection(const connection&) = delete;
    connection& operator=(const connection&) = delete;

    void write(const std::string& s) {
        for (std::size_t done = 0; done < s.size();) {
            auto n = ::send(fd_, s.data() + done, s.size() - done, MSG_NOSIGNAL);
            if (n <= 0) throw std::runtime_error("connection lost while sending");
            done += static_cast<std::size_t>(n);
        }
    }
    // One line without its CRLF; nullopt at the end of the stream.
    std::optional<std::string> line() {
        std::string out;
        for (;;) {
            if (pos_ == buf_.size() && !fill()) return out.empty() ? std::nullopt : std::optional(out);
            char c = buf_[pos_++];
            if (c == '\n') {
                if (!out.empty() && out.back() == '\r') out.pop_back();
                return out;
            }
            out.push_back(c);
        }
    }
    std::string bytes(std::size_t n) {
        std::string out;
        while (out.size() < n) {
            if (pos_ == buf_.size() && !fill()) throw std::runtime_error("connection lost while reading");
            auto take = std::min(n - out.size(), buf_.size() - pos_);
            out.append(buf_, pos_, take);
            pos_ += take;
        }
        return out;
    }
    std::string rest() {
        std::string out = buf_.substr(pos_);
        pos_ = buf_.size();
        while (fill()) {
            out += buf_;
            pos_ = buf_.size();
        }
        return out;
    }

private:
    bool fill() {
        char tmp[16384];
        auto n = ::recv(fd_, tmp, sizeof tmp, 0);
        if (n <= 0) return false;
        buf_.assign(tmp, static_cast<std::size_t>(n));
        pos_ = 0;
        return true;
    }
    int fd_ = -1;
    std::string buf_;
    std::size_t pos_ = 0;
};

struct response {
    int status = 0;
    bool chunked = false;
    std::size_t length = 0;
    bool has_length = false;
};

void send_request(connection& c, const endpoint& ep, const std::string& method, const std::string& path,
                  const std::string& body, const std::string& accept) {
    std::string req = method + " " + path + " HTTP/1.1\r\nHost: " + ep.host + "\r\nConnection: close\r\n";
    if (!ep.credential.empty()) req += "Authorization: Bearer " + ep.credential + "\r\n";
    if (!accept.empty()) req += "Accept: " + accept + "\r\n";
    if (!body.empty()) req += "Content-Type: application/json\r\n";
    req += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
    c.write(req);
}

response read_head(connection& c) {
    response r;
    auto status = c.line();
    if (!status || status->size() < 12) throw std::runtime_error("no HTTP response");
    r.status = std::stoi(status->substr(9, 3));
    while (auto h = c.line()) {
        if (h->empty()) break;
        auto colon = h->find(':');
        if (colon == std::string::npos) continue;
        std::string name = h->substr(0, colon), value = h->substr(colon + 1);
        for (auto& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        while (!value.empty() && value.front() == ' ') value.erase(0, 1);
        if (name == "transfer-encoding" && value.find("chunked") != std::string::npos) r.chunked = true;
        if (name == "content-length") {
            r.length = std::stoul(value);
            r.has_length = true;
        }
    }
    return r;
}

// A whole exchange: status and JSON body.
std::pair<int, json> call(const endpoint& ep, const std::string& method, const std::string& path, const json& body) {
    connection c(ep);
    send_request(c, ep, method, path, body.is_null() ? "" : body.dump(), "application/json");
    auto head = read_head(c);
    std::string text;
    if (head.chunked) {
        while (auto size = c.line()) {
            auto n = std::stoul(*size, nullptr, 16);
            if (n == 0) break;
            text += c.bytes(n);
            c.line();
        }
    } else {
        text = head.has_length ? c.bytes(head.length) : c.rest();
    }
    return {head.status, text.empty() ? json::object() : json::parse(text, nullptr, false)};
}

// ---- the tools ----------------------------------------------------------------

using report_fn = std::function<void(double progress, double total, const std::string& message)>;

std::optional<json> fibonacci(const json& args, const report_fn&, const std::atomic<bool>&) {
    const auto n = args.at("n").get<unsigned>();
    unsigned long long a = 0, b = 1;
    for (unsigned i = 0; i < n; ++i) b = std::exchange(a, b) + b;
    return json{{"content", {{{"type", "text"}, {"text", std::to_string(a)}}}},
                {"structuredContent", {{"value", a}}}};
}

std::optional<json> count_primes(const json& args, const report_fn& report, const std::atomic<bool>& cancelled) {
    const auto n = args.at("below").get<unsigned>();
    unsigned count = 0;
    const unsigned slices = 20;
    for (unsigned s = 0; s < slices; ++s) {
        if (cancelled) return std::nullopt;
        for (unsigned k = n / slices * s; k < (s + 1 == slices ? n : n / slices * (s + 1)); ++k) {
            bool prime = k >= 2;
            for (unsigned d = 2; prime && d * d <= k; ++d) prime = k % d != 0;
            count += prime;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));  // make it visibly long-running
        report(s + 1, slices, std::to_string(count) + " primes so far");
    }
    return json{{"content", {{{"type", "text"}, {"text", std::to_string(count) + " primes below " + std::to_string(n)}}}}};
}

const json tools = json::parse(R"([
  {"name": "fibonacci", "title": "Fibonacci", "description": "The n-th Fibonacci number",
   "inputSchema": {"type": "object", "properties": {"n": {"type": "integer", "minimum": 0, "maximum": 93}}, "required": ["n"]},
   "outputSchema": {"type": "object", "properties": {"value": {"type": "integer"}}, "required": ["value"]},
   "annotations": {"readOnlyHint": true, "idempotentHint": true}},
  {"name": "count_primes", "title": "Count primes", "description": "Counts the primes below a number, reporting progress",
   "inputSchema": {"type": "object", "properties": {"below": {"type": "integer", "minimum": 2, "maximum": 10000000}}, "required": ["below"]}}
])");

const std::map<std::string, std::optional<json> (*)(const json&, const report_fn&, const std::atomic<bool>&)> handlers = {
    {"fibonacci", fibonacci}, {"count_primes", count_primes}};

// ---- the worker ---------------------------------------------------------------

struct options {
    endpoint ep;
    std::string name = "cpp-tools";
    std::string state;
    int concurrency = 4;
};

void register_worker(options& o) {
    if (std::ifstream in(o.state); in) std::getline(in, o.ep.credential);
    auto [status, reply] = call(o.ep, "POST", "/workers",
                                json{{"name", o.name}, {"tools", tools}, {"concurrency", o.concurrency}});
    if (status == 201) {
        o.ep.credential = reply.at("credential").get<std::string>();
        std::ofstream(o.state) << o.ep.credential << "\n";
    } else if (status != 200) {
        throw std::runtime_error("registration failed: " + std::to_string(status) + " " + reply.dump());
    }
    std::printf("registered as %s (worker %s), queue %s\n", o.name.c_str(),
                reply.value("workerId", "?").c_str(), reply.value("topic", "?").c_str());
    std::fflush(stdout);
}

// The calls running on this instance, so notifications/cancelled reaches its handler.
struct running_calls {
    std::mutex mu;
    std::map<std::string, std::shared_ptr<std::atomic<bool>>> flags;
};

void handle(const options& o, json request, std::shared_ptr<std::atomic<bool>> cancelled,
            std::shared_ptr<running_calls> running) {
    const auto id = request.at("id").get<std::string>();  // the call's id, the same on every delivery
    const json params = request.value("params", json::object());
    const json meta = params.value("_meta", json::object());
    // Delivery is at-least-once: a call may come again (meta["io.litemcp/attempt"]
    // > 1) after a restart or a timeout. meta["io.litemcp/deliveryId"] is the same
    // on every delivery, so a tool with side effects (a mail sent, a row written)
    // should record it and do them once. These two tools have none.
    auto send = [&](json message) {
        message["jsonrpc"] = "2.0";
        const auto what = message.value("method", "the answer");
        try {
            auto [status, reply] = call(o.ep, "POST", "/workers/" + o.name + "/calls/" + id, message);
            if (status != 200) std::printf("litemcp refused %s: %d %s\n", what.c_str(), status, reply.dump().c_str());
        } catch (const std::exception& e) {  // litemcp is away: the call will be delivered again
            std::printf("cannot send %s: %s\n", what.c_str(), e.what());
        }
        std::fflush(stdout);
    };
    auto report = [&](double progress, double total, const std::string& message) {
        json p{{"progress", progress}, {"total", total}, {"message", message}};
        if (meta.contains("progressToken")) p["progressToken"] = meta.at("progressToken");  // the client's own
        send({{"method", "notifications/progress"}, {"params", p}});
    };
    const auto tool = params.value("name", "");
    auto it = handlers.find(tool);
    if (request.value("method", "") != "tools/call" || it == handlers.end()) {
        // Not one of our tools (this worker serves no resources or prompts): a
        // JSON-RPC error, final for the call, unlike a failure.
        send({{"id", id}, {"error", {{"code", -32602}, {"message", "Unknown tool: " + tool}}}});
    } else {
        try {
            // A tool that fails for its caller returns a result with "isError": true;
            // nullopt means the client cancelled, and wants no answer.
            if (auto result = it->second(params.value("arguments", json::object()), report, *cancelled))
                send({{"id", id}, {"result", *result}});
        } catch (const std::exception& e) {  // this attempt failed: litemcp delivers the call again
            send({{"method", "io.litemcp/failure"}, {"params", {{"error", e.what()}}}});
        }
    }
    std::lock_guard lock(running->mu);
    running->flags.erase(id);
}

// One SSE stream of calls; returns when it ends.
void serve(const options& o) {
    connection c(o.ep);
    send_request(c, o.ep, "GET", "/workers/" + o.name + "/calls", "", "text/event-stream");
    auto head = read_head(c);
    if (head.status != 200) throw std::runtime_error("attach failed: HTTP " + std::to_string(head.status));
    auto running = std::make_shared<running_calls>();
    std::string pending, data;
    for (;;) {
        auto size = c.line();
        if (!size) return;
        const auto n = std::stoul(*size, nullptr, 16);
        if (n == 0) return;
        pending += c.bytes(n);
        c.line();
        // SSE lines out of the chunk data; an empty line ends an event.
        std::size_t nl;
        while ((nl = pending.find('\n')) != std::string::npos) {
            std::string line = pending.substr(0, nl);
            pending.erase(0, nl + 1);
            if (line.rfind("data:", 0) == 0) {
                data += line.substr(line.size() > 5 && line[5] == ' ' ? 6 : 5);
                continue;
            }
            if (!line.empty() || data.empty()) continue;
            auto message = json::parse(data, nullptr, false);  // one JSON-RPC message
            data.clear();
            if (!message.is_object()) continue;
            const auto method = message.value("method", "");
            const json params = message.value("params", json::object());
            if (method == "io.litemcp/attached") {
                std::printf("instance %s attached\n", params.value("instance", "?").c_str());
                std::fflush(stdout);
            } else if (method == "notifications/cancelled") {
                std::lock_guard lock(running->mu);
                if (auto it = running->flags.find(params.value("requestId", "")); it != running->flags.end())
                    *it->second = true;
            } else if (message.contains("id")) {  // a request: tools/call
                auto flag = std::make_shared<std::atomic<bool>>(false);
                {
                    std::lock_guard lock(running->mu);
                    running->flags[message["id"].get<std::string>()] = flag;
                }
                std::thread(handle, std::cref(o), message, flag, running).detach();
            }
        }
    }
}

}  // namespace

int main(int argc, char** argv) {
    options o;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string flag = argv[i], value = argv[i + 1];
        if (flag == "--host") o.ep.host = value;
        else if (flag == "--port") o.ep.port = value;
        else if (flag == "--name") o.name = value;
        else if (flag == "--state") o.state = value;
        else if (flag == "--concurrency") o.concurrency = std::stoi(value);
        else {
            std::fprintf(stderr, "unknown flag %s\n", flag.c_str());
            return 2;
        }
    }
    if (o.state.empty()) o.state = "./" + o.name + ".credential";
    try {
        register_worker(o);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "%s\n", e.what());
        return 1;
    }
    for (auto delay = std::chrono::milliseconds(500);; delay = std::min(delay * 2, std::chrono::milliseconds(10'000))) {
        try {
            serve(o);
            delay = std::chrono::milliseconds(250);
        } catch (const std::exception& e) {
            std::printf("stream lost (%s); reconnecting\n", e.what());
            std::fflush(stdout);
        }
        std::this_thread::sleep_for(delay);
    }
}
