// Private to transport/: http_client's idle keep-alive connections, per
// origin (scheme, host and port).
//
// Bounds: at most max_per_origin idle connections per origin (the oldest is
// closed beyond), each for at most idle_timeout (a timer sweeps them out).
// Threading: take() and put() from any thread, under one mutex; the sweep
// timer runs on its own strand. Lifetime: owned by http_client::impl,
// destroyed before its io_context; close_all() at shutdown closes what is
// idle and makes put() close what comes back.
#pragma once

#include <deque>

#include "transport/beast/client_connection.h"

namespace litemcp::transport {

class connection_pool {
public:
    using clock = std::chrono::steady_clock;

    connection_pool(net::io_context& ioc, std::size_t max_per_origin, std::chrono::milliseconds idle_timeout)
        : max_(max_per_origin), idle_timeout_(idle_timeout), strand_(net::make_strand(ioc)), timer_(strand_) {}

    // The most recently used idle connection to origin that still looks
    // alive, or null. Stale ones met on the way are closed.
    std::unique_ptr<client_connection> take(const std::string& origin) {
        for (;;) {
            std::unique_ptr<client_connection> c;
            {
                std::lock_guard lock(mu_);
                auto it = idle_.find(origin);
                if (it == idle_.end()) return nullptr;
                c = std::move(it->second.back());
                it->second.pop_back();
                if (it->second.empty()) idle_.erase(it);
            }
            // Outside the lock: a system call per candidate.
            if (clock::now() - c->idle_since < idle_timeout_ && c->looks_alive()) return c;
            spdlog::debug("http_client: connection {} to {} went stale while idle", c->id(), origin);
        }
    }

    // Keeps c for the next exchange to its origin. c has no pending operation.
    void put(std::unique_ptr<client_connection> c) {
        if (max_ == 0) return;
        c->idle_since = clock::now();
        std::unique_ptr<client_connection> evicted;  // closed outside the lock
        bool arm = false;
        {
            std::lock_guard lock(mu_);
            if (closed_) return;
            auto& list = idle_[c->origin()];
            if (list.size() >= max_) {
                evicted = std::move(list.front());
                list.pop_front();
            }
            list.push_back(std::move(c));
            if (!armed_) armed_ = arm = true;
        }
        if (arm) net::post(strand_, [this] { arm_sweep(idle_timeout_); });
    }

    void close_all() {
        std::unordered_map<std::string, std::deque<std::unique_ptr<client_connection>>> gone;
        {
            std::lock_guard lock(mu_);
            closed_ = true;
            gone.swap(idle_);
        }
        net::post(strand_, [this] { timer_.cancel(); });
    }

private:
    // On the strand.
    void arm_sweep(clock::duration after) {
        timer_.expires_after(after);
        timer_.async_wait([this](beast::error_code ec) {
            if (ec) return;
            sweep();
        });
    }

    // On the strand: closes what has been idle too long and waits for the
    // next connection to expire, or stops when none is idle.
    void sweep() {
        std::vector<std::unique_ptr<client_connection>> expired;
        clock::duration next = idle_timeout_;
        {
            std::lock_guard lock(mu_);
            if (closed_) return;
            const auto now = clock::now();
            for (auto it = idle_.begin(); it != idle_.end();) {
                auto& list = it->second;  // oldest first
                while (!list.empty() && now - list.front()->idle_since >= idle_timeout_) {
                    expired.push_back(std::move(list.front()));
                    list.pop_front();
                }
                if (list.empty()) {
                    it = idle_.erase(it);
                    continue;
                }
                next = std::min<clock::duration>(next, list.front()->idle_since + idle_timeout_ - now);
                ++it;
            }
            if (idle_.empty()) {
                armed_ = false;
                return;
            }
        }
        arm_sweep(next);
    }

    const std::size_t max_;
    const std::chrono::milliseconds idle_timeout_;
    std::mutex mu_;
    // Per origin, oldest first.
    std::unordered_map<std::string, std::deque<std::unique_ptr<client_connection>>> idle_;
    bool armed_ = false;  // a sweep is pending
    bool closed_ = false;
    net::strand<net::io_context::executor_type> strand_;
    net::steady_timer timer_;
};

}  // namespace litemcp::transport
