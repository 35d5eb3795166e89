// litemcp-connect: runs an MCP server that speaks stdio and attaches it to
// litemcp through the worker API (connector.h).
//
//   litemcp-connect --name NAME [--url URL] [--prefix P] [--concurrency N]
//                   [--credential-file F] [--token T] -- COMMAND [ARGS...]
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <charconv>
#include <cstring>
#include <iostream>

#include "server/connect/connector.h"

namespace {

const char* usage =
    "usage: litemcp-connect --name NAME [--url URL] [--prefix P] [--concurrency N]\n"
    "                       [--credential-file FILE] [--token TOKEN] -- COMMAND [ARGS...]\n\n"
    "Runs COMMAND, an MCP server that speaks stdio, and puts it behind litemcp: its tools,\n"
    "resources and prompts are registered as worker NAME, and every call reaches it through\n"
    "litemcp's durable queue (docs/workers.md).\n\n"
    "  --url URL               litemcp (default: http://127.0.0.1:8080)\n"
    "  --name NAME             the worker's name (required)\n"
    "  --prefix P              put before every tool and prompt name (default: NAME__; '' keeps them)\n"
    "  --concurrency N         calls sent to the server at once (default: 1)\n"
    "  --credential-file FILE  where the worker's credential is kept (default: NAME.credential)\n"
    "  --token TOKEN           an access token with mcp:workers, when litemcp authenticates\n";

}  // namespace

int main(int argc, char** argv) {
    // Logs on stderr, beside the stdio server's own (stdout says nothing).
    spdlog::set_default_logger(spdlog::stderr_color_mt("litemcp-connect"));
    spdlog::set_pattern("%Y-%m-%d %H:%M:%S.%e %l %v");
    litemcp::server::connector_options o;
    int i = 1;
    auto value = [&](const char* flag) -> std::string {
        if (i + 1 >= argc) {
            std::cerr << "litemcp-connect: " << flag << " needs a value\n" << usage;
            std::exit(2);
        }
        return argv[++i];
    };
    for (; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--") {
            for (++i; i < argc; ++i) o.command.push_back(argv[i]);
            break;
        }
        if (a == "--help" || a == "-h") {
            std::cout << usage;
            return 0;
        }
        if (a == "--url") o.url = value("--url");
        else if (a == "--name") o.name = value("--name");
        else if (a == "--prefix") o.prefix = value("--prefix");
        else if (a == "--credential-file") o.credential_file = value("--credential-file");
        else if (a == "--token") o.token = value("--token");
        else if (a == "--concurrency") {
            auto v = value("--concurrency");
            auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), o.concurrency);
            if (ec != std::errc() || p != v.data() + v.size() || o.concurrency < 1 || o.concurrency > 1024) {
                std::cerr << "litemcp-connect: --concurrency: 1 to 1024\n";
                return 2;
            }
        } else {
            std::cerr << "litemcp-connect: unknown argument " << a << "\n" << usage;
            return 2;
        }
    }
    if (o.name.empty() || o.command.empty()) {
        std::cerr << usage;
        return 2;
    }
    while (!o.url.empty() && o.url.back() == '/') o.url.pop_back();
    litemcp::server::connector c(o);
    auto r = c.run();
    if (!r) {
        spdlog::error("litemcp-connect: {}", r.error());
        return 1;
    }
    return *r;
}
