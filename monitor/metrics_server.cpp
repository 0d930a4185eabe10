#include "monitor/metrics_server.hpp"

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>

#include <fmt/format.h>

#include <netdb.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

namespace fsmirror::monitor {

namespace {

constexpr int k_request_timeout_ms = 2000;
constexpr std::size_t k_max_request = 8192;

bool valid_port(const std::string& text) {
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    return !text.empty() && ec == std::errc() && end == text.data() + text.size() && value >= 1 &&
           value <= 65535;
}

void write_all(int fd, const std::string& data) {
    std::size_t done = 0;
    while (done < data.size()) {
        const ssize_t written = ::send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
        if (written <= 0) {
            if (written < 0 && errno == EINTR)
                continue;
            return;
        }
        done += static_cast<std::size_t>(written);
    }
}

} // namespace

std::optional<ListenAddress> parse_listen_address(const std::string& text) {
    if (text.empty())
        return std::nullopt;
    if (text.front() == '[') {
        const auto close = text.find("]:");
        if (close == std::string::npos || close == 1)
            return std::nullopt;
        ListenAddress address{text.substr(1, close - 1), text.substr(close + 2)};
        return valid_port(address.port) ? std::optional(address) : std::nullopt;
    }
    const auto colon = text.rfind(':');
    if (colon == std::string::npos)
        return valid_port(text) ? std::optional(ListenAddress{"127.0.0.1", text}) : std::nullopt;
    ListenAddress address{text.substr(0, colon), text.substr(colon + 1)};
    if (address.host.empty() || address.host.find(':') != std::string::npos ||
        !valid_port(address.port))
        return std::nullopt;
    return address;
}

base::Result<std::unique_ptr<MetricsServer>>
MetricsServer::start(const ListenAddress& address, Provider provider, base::Logger& logger) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    addrinfo* found = nullptr;
    const std::string where = address.host + ":" + address.port;
    if (int rc = ::getaddrinfo(address.host.c_str(), address.port.c_str(), &hints, &found); rc != 0)
        return base::fail(base::ErrorKind::fatal,
                          fmt::format("metrics listener {}: {}", where, ::gai_strerror(rc)));
    std::unique_ptr<addrinfo, void (*)(addrinfo*)> guard(found, &::freeaddrinfo);
    int last_errno = 0;
    for (addrinfo* ai = found; ai != nullptr; ai = ai->ai_next) {
        base::UniqueFd fd(::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, 0));
        if (!fd.valid()) {
            last_errno = errno;
            continue;
        }
        const int one = 1;
        ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (::bind(fd.get(), ai->ai_addr, ai->ai_addrlen) != 0 || ::listen(fd.get(), 16) != 0) {
            last_errno = errno;
            continue;
        }
        sockaddr_storage bound{};
        socklen_t length = sizeof bound;
        ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&bound), &length);
        char port[NI_MAXSERV] = {};
        ::getnameinfo(reinterpret_cast<sockaddr*>(&bound), length, nullptr, 0, port, sizeof port,
                      NI_NUMERICSERV);
        return std::unique_ptr<MetricsServer>(
            new MetricsServer(std::move(fd), std::atoi(port), std::move(provider), logger));
    }
    return std::unexpected(
        base::error_from_errno(last_errno, "metrics listener: cannot listen on " + where));
}

MetricsServer::MetricsServer(base::UniqueFd listener, int port, Provider provider,
                             base::Logger& logger)
    : m_listener(std::move(listener)), m_wake(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)),
      m_port(port), m_provider(std::move(provider)), m_logger(logger),
      m_thread([this](std::stop_token stop) { run(stop); }) {}

MetricsServer::~MetricsServer() {
    m_thread.request_stop();
    const std::uint64_t one = 1;
    [[maybe_unused]] const ssize_t written = ::write(m_wake.get(), &one, sizeof one);
    if (m_thread.joinable())
        m_thread.join();
}

void MetricsServer::run(std::stop_token stop) {
    while (!stop.stop_requested()) {
        pollfd fds[2] = {{m_listener.get(), POLLIN, 0}, {m_wake.get(), POLLIN, 0}};
        if (::poll(fds, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            m_logger.error("metrics listener: poll failed: {}", std::strerror(errno));
            return;
        }
        if (fds[1].revents != 0)
            return;
        if (fds[0].revents & POLLIN) {
            base::UniqueFd client(::accept4(m_listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
            if (client.valid())
                serve(client.get());
        }
    }
}

// One request per connection, answered and closed: all Prometheus needs.
void MetricsServer::serve(int client) {
    std::string request;
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(k_request_timeout_ms);
    while (request.find("\r\n\r\n") == std::string::npos && request.size() < k_max_request) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        pollfd fd{client, POLLIN, 0};
        if (left.count() <= 0 || ::poll(&fd, 1, static_cast<int>(left.count())) <= 0)
            return;
        char buffer[2048];
        const ssize_t got = ::recv(client, buffer, sizeof buffer, 0);
        if (got <= 0)
            return;
        request.append(buffer, static_cast<std::size_t>(got));
    }
    const bool is_get = request.starts_with("GET ");
    const auto path_end = request.find(' ', 4);
    const std::string path =
        is_get && path_end != std::string::npos ? request.substr(4, path_end - 4) : std::string();
    std::string response;
    if (!is_get) {
        response = "HTTP/1.1 405 Method Not Allowed\r\nAllow: GET\r\nContent-Length: 0\r\n"
                   "Connection: close\r\n\r\n";
    } else if (path != "/metrics" && path != "/") {
        response = "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 10\r\n"
                   "Connection: close\r\n\r\nnot found\n";
    } else {
        const std::string body = m_provider();
        response = fmt::format("HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; "
                               "charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                               body.size()) +
                   body;
    }
    write_all(client, response);
}

} // namespace fsmirror::monitor
