#include "tests/support/sshd_server.hpp"

#include "tests/support/file_ops.hpp"
#include "tests/support/skip.hpp"

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

namespace fsmirror::test_support {

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr const char* k_sshd = "/usr/sbin/sshd";
constexpr const char* k_keygen = "/usr/bin/ssh-keygen";

// Runs a short helper program to completion. Returns its exit status, or -1 when it hung.
int run(const std::vector<std::string>& argv, const fs::path& log) {
    ChildProcess child(
        ChildOptions{.argv = argv, .log_file = log, .working_directory = std::nullopt});
    auto status = child.wait_for_exit(30s);
    return status.value_or(-1);
}

// sshd gives its sessions a fresh environment, so the remote `fsmirror agent` of a sanitizer
// build would run without the options (log_path above all) that scripts/sanitize.sh sets, and
// its reports would go to a stderr nobody reads. Returns SetEnv lines passing them on.
std::string sanitizer_environment() {
    std::string lines;
    for (const char* name : {"ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS", "TSAN_OPTIONS"})
        if (const char* value = std::getenv(name); value != nullptr && *value != '\0')
            lines += fmt::format("SetEnv \"{}={}\"\n", name, value);
    return lines;
}

std::uint16_t free_port() {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        skip_test(fmt::format("cannot create a socket: {}", std::strerror(errno)));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
        ::close(fd);
        skip_test(fmt::format("cannot bind a port on 127.0.0.1: {}", std::strerror(errno)));
    }
    ::close(fd);
    return ntohs(address.sin_port);
}

// Returns the pids whose parent is in `roots`, transitively (from /proc).
std::vector<pid_t> descendants_of(pid_t root) {
    std::multimap<pid_t, pid_t> children;
    if (DIR* proc = ::opendir("/proc")) {
        while (dirent* entry = ::readdir(proc)) {
            char* end = nullptr;
            long pid = std::strtol(entry->d_name, &end, 10);
            if (*end != '\0' || pid <= 0)
                continue;
            std::string stat = read_file_or_empty(fs::path("/proc") / entry->d_name / "stat");
            auto close = stat.rfind(')');
            if (close == std::string::npos)
                continue;
            std::istringstream fields(stat.substr(close + 2));
            char state = 0;
            long ppid = 0;
            fields >> state >> ppid;
            children.emplace(static_cast<pid_t>(ppid), static_cast<pid_t>(pid));
        }
        ::closedir(proc);
    }
    std::vector<pid_t> found;
    std::vector<pid_t> queue{root};
    while (!queue.empty()) {
        pid_t parent = queue.back();
        queue.pop_back();
        auto [first, last] = children.equal_range(parent);
        for (auto it = first; it != last; ++it) {
            found.push_back(it->second);
            queue.push_back(it->second);
        }
    }
    return found;
}

bool is_gone(pid_t pid) {
    std::string stat = read_file_or_empty(fs::path("/proc") / std::to_string(pid) / "stat");
    if (stat.empty())
        return true;
    auto close = stat.rfind(')');
    return close != std::string::npos && close + 2 < stat.size() && stat[close + 2] == 'Z';
}

} // namespace

std::optional<std::string> ipv6_loopback_missing() {
    int fd = ::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return fmt::format("no IPv6 on this machine: {}", std::strerror(errno));
    sockaddr_in6 address{};
    address.sin6_family = AF_INET6;
    address.sin6_addr = in6addr_loopback;
    const bool bound = ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
    const int error = errno;
    ::close(fd);
    if (!bound)
        return fmt::format("cannot bind to ::1: {}", std::strerror(error));
    return std::nullopt;
}

SshdServer::SshdServer(const fs::path& directory, Listen listen) : m_directory(directory) {
    for (const char* tool : {k_sshd, k_keygen})
        if (::access(tool, X_OK) != 0)
            skip_test(fmt::format("{} is not available ({}): install openssh-server and "
                                  "openssh-client",
                                  tool, std::strerror(errno)));
    // sshd refuses to start without its privilege separation directory.
    if (::mkdir("/run/sshd", 0755) != 0 && errno != EEXIST)
        skip_test(fmt::format("cannot create /run/sshd for sshd: {}", std::strerror(errno)));

    const fs::path host_key = m_directory / "ssh_host_ed25519_key";
    m_client_key = m_directory / "client_key";
    for (const auto& key : {host_key, m_client_key}) {
        if (run({k_keygen, "-q", "-t", "ed25519", "-N", "", "-C", "fsmirror-test", "-f",
                 key.string()},
                m_directory / "keygen.log") != 0)
            skip_test("ssh-keygen failed: " + read_file_or_empty(m_directory / "keygen.log"));
    }
    fs::copy_file(m_client_key.string() + ".pub", m_directory / "authorized_keys");
    fs::permissions(m_directory / "authorized_keys",
                    fs::perms::owner_read | fs::perms::owner_write);

    m_port = free_port();
    m_host_public_key = read_file_or_empty(host_key.string() + ".pub");
    // "ssh-ed25519 AAAA... comment" -> the first two fields.
    std::istringstream fields(m_host_public_key);
    std::string type, blob;
    fields >> type >> blob;
    m_host_public_key = type + " " + blob;
    m_known_hosts = m_directory / "known_hosts";
    const bool ipv6 = listen == Listen::ipv4_and_ipv6;
    if (ipv6)
        if (auto missing = ipv6_loopback_missing())
            skip_test(*missing);
    std::ofstream(m_known_hosts) << fmt::format("[127.0.0.1]:{} {}\n", m_port, m_host_public_key)
                                 << (ipv6 ? fmt::format("[::1]:{} {}\n", m_port, m_host_public_key)
                                          : "");

    m_config = m_directory / "sshd_config";
    std::ofstream(m_config) << fmt::format("Port {}\n"
                                           "ListenAddress 127.0.0.1\n{}"
                                           "HostKey {}\n"
                                           "PidFile {}\n"
                                           "AuthorizedKeysFile {}\n"
                                           "PubkeyAuthentication yes\n"
                                           "PasswordAuthentication no\n"
                                           "KbdInteractiveAuthentication no\n"
                                           "PermitRootLogin prohibit-password\n"
                                           "StrictModes no\n"
                                           "UsePAM no\n"
                                           "MaxStartups 100\n"
                                           "MaxSessions 100\n"
                                           "Subsystem sftp internal-sftp\n"
                                           "LogLevel VERBOSE\n{}",
                                           m_port, ipv6 ? "ListenAddress ::1\n" : "",
                                           host_key.string(), (m_directory / "sshd.pid").string(),
                                           (m_directory / "authorized_keys").string(),
                                           sanitizer_environment());
    start();
    if (!m_sshd->wait_for_log("Server listening on", 10s))
        skip_test("sshd did not start: " + m_sshd->log_tail());
}

SshdServer::~SshdServer() {
    kill_all();
}

void SshdServer::start() {
    m_sshd = std::make_unique<ChildProcess>(
        ChildOptions{.argv = {k_sshd, "-D", "-e", "-f", m_config.string()},
                     .log_file = m_directory / fmt::format("sshd-{}.log", ++m_starts),
                     .working_directory = std::nullopt});
}

void SshdServer::restart() {
    if (m_sshd && m_sshd->running())
        return;
    // The port may linger for a moment after a kill; a few tries are enough.
    for (int attempt = 0; attempt < 50; ++attempt) {
        start();
        if (m_sshd->wait_for_log("Server listening on", 10s))
            return;
        m_sshd->wait_for_exit(1s);
        std::this_thread::sleep_for(100ms);
    }
    FAIL("sshd did not restart: " << m_sshd->log_tail());
}

void SshdServer::kill_all() {
    if (!m_sshd || !m_sshd->running())
        return;
    // Stop the listener first so it forks nothing new, then take its sessions with it.
    m_sshd->send_signal(SIGSTOP);
    auto sessions = descendants_of(m_sshd->pid());
    for (pid_t pid : sessions)
        ::kill(pid, SIGKILL);
    m_sshd->send_signal(SIGKILL);
    m_sshd->wait_for_exit(10s);
    auto deadline = std::chrono::steady_clock::now() + 10s;
    for (pid_t pid : sessions)
        while (!is_gone(pid) && std::chrono::steady_clock::now() < deadline)
            std::this_thread::sleep_for(10ms);
}

std::string SshdServer::add_host_key(std::string_view type) {
    const fs::path key = m_directory / fmt::format("ssh_host_{}_key", type);
    REQUIRE(run({k_keygen, "-q", "-t", std::string(type), "-N", "", "-C", "fsmirror-test", "-f",
                 key.string()},
                m_directory / "keygen.log") == 0);
    std::ofstream(m_config, std::ios::app) << "HostKey " << key.string() << "\n";
    kill_all();
    restart();
    std::istringstream fields(read_file_or_empty(key.string() + ".pub"));
    std::string key_type, blob;
    fields >> key_type >> blob;
    return key_type + " " + blob;
}

void SshdServer::freeze_sessions() {
    REQUIRE(m_sshd);
    for (pid_t pid : descendants_of(m_sshd->pid()))
        ::kill(pid, SIGSTOP);
}

std::string SshdServer::target(const fs::path& remote_directory) const {
    return fmt::format("127.0.0.1:{}:{}", m_port, remote_directory.string());
}

std::string SshdServer::host_fingerprint() const {
    const fs::path out = m_directory / "fingerprint.txt";
    ChildProcess child(ChildOptions{.argv = {k_keygen, "-l", "-E", "sha256", "-f",
                                             (m_directory / "ssh_host_ed25519_key.pub").string()},
                                    .log_file = out,
                                    .working_directory = std::nullopt});
    child.wait_for_exit(30s);
    std::istringstream fields(read_file_or_empty(out));
    std::string bits, fingerprint;
    fields >> bits >> fingerprint;
    return fingerprint;
}

fs::path SshdServer::make_key(std::string_view name) const {
    const fs::path key = m_directory / std::string(name);
    REQUIRE(
        run({k_keygen, "-q", "-t", "ed25519", "-N", "", "-C", "fsmirror-test", "-f", key.string()},
            m_directory / "keygen.log") == 0);
    return key;
}

std::string SshdServer::log_text() const {
    std::string text;
    for (unsigned i = 1; i <= m_starts; ++i)
        text += read_file_or_empty(m_directory / fmt::format("sshd-{}.log", i));
    return text;
}

} // namespace fsmirror::test_support
