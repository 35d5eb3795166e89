// What a system call costs on this machine: the floor under every figure of
// http_bench.py, since each tools/call needs at least a recv and a send.
//
//   build/test/bench/syscall_cost [--calls N]
//
// Times N getppid() calls (the cheapest system call) and N recv() calls on
// an idle non-blocking loopback socket (each returns EAGAIN, as the read
// started right after an answer usually does), and prints nanoseconds per
// call. Pin it to a core (taskset -c 0) to compare with the servers.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {

template <class F>
double ns_per_call(long calls, F f) {
    const auto start = std::chrono::steady_clock::now();
    for (long i = 0; i < calls; ++i) f();
    const std::chrono::duration<double, std::nano> took = std::chrono::steady_clock::now() - start;
    return took.count() / static_cast<double>(calls);
}

}  // namespace

int main(int argc, char** argv) {
    long calls = 1'000'000;
    for (int i = 1; i + 1 < argc; ++i)
        if (std::strcmp(argv[i], "--calls") == 0) calls = std::atol(argv[i + 1]);
    if (calls <= 0) {
        std::fprintf(stderr, "usage: syscall_cost [--calls N]\n");
        return 2;
    }

    const int listener = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (listener < 0 || bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        listen(listener, 1) != 0 || getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
        std::perror("syscall_cost: listen on loopback");
        return 1;
    }
    const int client = socket(AF_INET, SOCK_STREAM, 0);
    if (client < 0 || connect(client, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        std::perror("syscall_cost: connect");
        return 1;
    }
    const int server = accept(listener, nullptr, nullptr);
    if (server < 0 || fcntl(server, F_SETFL, O_NONBLOCK) != 0) {
        std::perror("syscall_cost: accept");
        return 1;
    }

    char buf[4096];
    const double getppid_ns = ns_per_call(calls, [] { (void)syscall(SYS_getppid); });
    const double recv_ns = ns_per_call(calls, [&] { (void)recv(server, buf, sizeof buf, 0); });
    std::printf("getppid: %.0f ns per call\n", getppid_ns);
    std::printf("recv on an idle socket (EAGAIN): %.0f ns per call\n", recv_ns);
    close(server);
    close(client);
    close(listener);
    return 0;
}
