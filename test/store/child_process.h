// Child processes for tests that must end a store the way a crash does, or
// change process-wide state (mount namespace, resource limits). A child is a
// fresh exec of the test binary, never a bare fork: RocksDB keeps background
// threads for the life of the process, and a fork taken while one of them
// holds a lock would deadlock the child.
//
//   LITEMCP_CHILD(name) { ...; return 0; }          // defines a scenario
//   int code = run_child("name", dir);              // runs it, returns its exit code
//
// Inside a scenario, child_dir() is the folder passed to run_child and
// abandon(code) ends the process at once: no destructor runs, so an open
// store is neither checkpointed nor closed (threads die with the process,
// the page cache keeps what was written -- exactly what SIGKILL leaves).
#pragma once

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <string>

extern char** environ;

namespace litemcp::test {

using child_fn = int (*)();

inline std::map<std::string, child_fn>& child_registry() {
    static std::map<std::string, child_fn> r;
    return r;
}

struct child_registration {
    child_registration(const char* name, child_fn f) { child_registry()[name] = f; }
};

inline std::string child_dir() {
    const char* d = std::getenv("LITEMCP_CHILD_DIR");
    return d ? d : "";
}

[[noreturn]] inline void abandon(int code) {
    std::fflush(nullptr);
    ::_exit(code);
}

// Returns the child's exit code, or 128 + signal.
inline int run_child(const std::string& name, const std::string& dir) {
    std::fflush(nullptr);
    std::string scenario = "LITEMCP_CHILD=" + name;
    std::string folder = "LITEMCP_CHILD_DIR=" + dir;
    std::vector<char*> env;
    for (char** e = environ; *e; ++e) env.push_back(*e);
    env.push_back(scenario.data());
    env.push_back(folder.data());
    env.push_back(nullptr);
    char self[] = "/proc/self/exe";
    char* argv[] = {self, nullptr};
    pid_t pid = 0;
    if (::posix_spawn(&pid, "/proc/self/exe", nullptr, nullptr, argv, env.data()) != 0) return 126;
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// Called first by the test main: runs the scenario named in LITEMCP_CHILD, if any.
inline void run_child_scenario_if_asked() {
    const char* name = std::getenv("LITEMCP_CHILD");
    if (!name) return;
    auto it = child_registry().find(name);
    if (it == child_registry().end()) {
        std::fprintf(stderr, "no child scenario '%s'\n", name);
        abandon(125);
    }
    abandon(it->second());
}

}  // namespace litemcp::test

#define LITEMCP_CHILD_CAT2(a, b) a##b
#define LITEMCP_CHILD_CAT(a, b) LITEMCP_CHILD_CAT2(a, b)
#define LITEMCP_CHILD(name)                                                               \
    static int LITEMCP_CHILD_CAT(child_scenario_, __LINE__)();                            \
    static ::litemcp::test::child_registration LITEMCP_CHILD_CAT(child_reg_, __LINE__)(   \
        name, &LITEMCP_CHILD_CAT(child_scenario_, __LINE__));                             \
    static int LITEMCP_CHILD_CAT(child_scenario_, __LINE__)()
