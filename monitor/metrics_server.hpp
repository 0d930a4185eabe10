#pragma once
// The opt-in HTTP listener for Prometheus: answers GET /metrics with the current exposition on
// its own thread. Binds to loopback unless an address is given explicitly.

#include "base/error.hpp"
#include "base/logger.hpp"
#include "base/unique_fd.hpp"

#include <functional>
#include <memory>
#include <string>
#include <thread>

namespace fsmirror::monitor {

struct ListenAddress {
    std::string host; // numeric IPv4/IPv6 or a name; "127.0.0.1" when only a port was given
    std::string port;

    bool operator==(const ListenAddress&) const = default;
};

// Parses "PORT", "HOST:PORT" or "[IPV6]:PORT". Returns nullopt for anything else (or a port
// outside 1-65535).
std::optional<ListenAddress> parse_listen_address(const std::string& text);

class MetricsServer {
public:
    using Provider = std::function<std::string()>;

    // Binds and starts serving. Returns the reason when the address cannot be bound.
    static base::Result<std::unique_ptr<MetricsServer>>
    start(const ListenAddress& address, Provider provider, base::Logger& logger);

    ~MetricsServer();
    MetricsServer(const MetricsServer&) = delete;
    MetricsServer& operator=(const MetricsServer&) = delete;

    // Returns the port actually bound (useful with port 0 in tests).
    int port() const { return m_port; }

private:
    MetricsServer(base::UniqueFd listener, int port, Provider provider, base::Logger& logger);
    void run(std::stop_token stop);
    void serve(int client);

    base::UniqueFd m_listener;
    base::UniqueFd m_wake;
    int m_port = 0;
    Provider m_provider;
    base::Logger& m_logger;
    std::jthread m_thread;
};

} // namespace fsmirror::monitor
