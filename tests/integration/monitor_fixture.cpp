#include "tests/integration/monitor_fixture.hpp"

#include "tests/support/file_ops.hpp"
#include "tests/support/wait.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

namespace fsmirror::integration {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

constexpr const char* k_python = "/usr/bin/python3";

bool python_has_aiosmtpd() {
    const pid_t pid = ::fork();
    if (pid == 0) {
        const int null_fd = ::open("/dev/null", O_WRONLY);
        ::dup2(null_fd, STDOUT_FILENO);
        ::dup2(null_fd, STDERR_FILENO);
        ::execl(k_python, k_python, "-c", "import aiosmtpd.controller",
                static_cast<char*>(nullptr));
        ::_exit(127);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

std::string subject_of(const std::string& text) {
    const auto start = text.find("\nSubject: ");
    if (start == std::string::npos)
        return "";
    const auto end = text.find_first_of("\r\n", start + 1);
    return text.substr(start + 10, end - start - 10);
}

// Returns "name size" lines for the files in `directory`, for failure messages.
std::string listing(const fs::path& directory) {
    std::string text;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(directory, ec))
        text += entry.path().filename().string() + " " +
                std::to_string(entry.is_regular_file() ? entry.file_size() : 0) + "\n";
    return text;
}

} // namespace

bool Mail::is_alert() const {
    return subject_of(text).starts_with("[ALERT] ");
}
bool Mail::is_recovery() const {
    return subject_of(text).starts_with("[RESOLVED] ");
}
bool Mail::mentions(const std::string& needle) const {
    return text.find(needle) != std::string::npos;
}

SmtpSink::SmtpSink(const fs::path& directory, const std::optional<std::string>& auth, int port,
                   const std::optional<Tls>& tls)
    : m_mail_dir(directory / "mail") {
    if (::access(k_python, X_OK) != 0 || !python_has_aiosmtpd())
        skip_test("no SMTP server for the test: /usr/bin/python3 with aiosmtpd is missing "
                  "(apt-get install python3-aiosmtpd)");
    fs::create_directories(m_mail_dir);
    const fs::path port_file = directory / "smtp.port";
    const fs::path script = fs::path(FSMIRROR_INTEGRATION_DIR) / "smtp_sink.py";
    std::vector<std::string> argv{k_python,      script.string(),   "--dir", m_mail_dir.string(),
                                  "--port-file", port_file.string()};
    if (auth) {
        argv.push_back("--auth");
        argv.push_back(*auth);
    }
    if (port != 0) {
        argv.push_back("--port");
        argv.push_back(std::to_string(port));
    }
    if (tls) {
        argv.push_back("--starttls");
        argv.push_back(tls->certificate.string());
        argv.push_back(tls->key.string());
    }
    m_server = std::make_unique<test_support::ChildProcess>(test_support::ChildOptions{
        .argv = argv, .log_file = directory / "smtp.log", .working_directory = std::nullopt});
    const bool ready = test_support::wait_until(
        [&] { return fs::exists(port_file) || !m_server->running(); }, 20'000ms);
    INFO("smtp server log:\n" << m_server->log_tail());
    INFO("smtp server exit status: " << m_server->wait_for_exit(0ms).value_or(-1));
    INFO("files in " << directory.string() << ":\n" << listing(directory));
    REQUIRE(ready);
    REQUIRE(fs::exists(port_file));
    m_port = std::stoi(test_support::read_file(port_file));
}

std::vector<Mail> SmtpSink::mails() const {
    std::vector<Mail> result;
    for (const auto& entry : fs::directory_iterator(m_mail_dir))
        if (entry.path().extension() == ".eml")
            result.push_back(
                Mail{entry.path().filename().string(), test_support::read_file(entry.path())});
    std::sort(result.begin(), result.end(),
              [](const Mail& a, const Mail& b) { return a.file < b.file; });
    return result;
}

std::vector<Mail> SmtpSink::wait_for(std::size_t count, bool (*match)(const Mail&),
                                     std::chrono::milliseconds timeout) const {
    std::vector<Mail> seen;
    test_support::wait_until(
        [&] {
            seen = mails();
            return static_cast<std::size_t>(std::count_if(seen.begin(), seen.end(), match)) >=
                   count;
        },
        timeout);
    return seen;
}

ScopedEnv::ScopedEnv(std::string name, const std::string& value) : m_name(std::move(name)) {
    if (const char* previous = std::getenv(m_name.c_str()))
        m_previous = previous;
    ::setenv(m_name.c_str(), value.c_str(), 1);
}

ScopedEnv::~ScopedEnv() {
    if (m_previous)
        ::setenv(m_name.c_str(), m_previous->c_str(), 1);
    else
        ::unsetenv(m_name.c_str());
}

NotifySocket::NotifySocket(const fs::path& path) : m_path(path) {
    m_fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    REQUIRE(m_fd >= 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    REQUIRE(path.string().size() < sizeof address.sun_path);
    std::strcpy(address.sun_path, path.c_str());
    REQUIRE(::bind(m_fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
}

NotifySocket::~NotifySocket() {
    if (m_fd >= 0)
        ::close(m_fd);
    ::unlink(m_path.c_str());
}

const std::vector<std::string>& NotifySocket::messages() {
    char buffer[4096];
    for (;;) {
        const ssize_t got = ::recv(m_fd, buffer, sizeof buffer, 0);
        if (got < 0)
            break;
        m_messages.emplace_back(buffer, static_cast<std::size_t>(got));
    }
    return m_messages;
}

bool NotifySocket::wait_for(const std::string& needle, std::chrono::milliseconds timeout) {
    return test_support::wait_until(
        [&] {
            const auto& all = messages();
            return std::any_of(all.begin(), all.end(), [&](const std::string& message) {
                return message.find(needle) != std::string::npos;
            });
        },
        timeout);
}

SmtpSink::Tls make_loopback_certificate(const fs::path& directory) {
    const char* openssl = "/usr/bin/openssl";
    if (::access(openssl, X_OK) != 0)
        skip_test("no /usr/bin/openssl to make a test certificate (apt-get install openssl)");
    SmtpSink::Tls tls{directory / "cert.pem", directory / "key.pem"};
    test_support::ChildProcess child(test_support::ChildOptions{
        .argv = {openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
                 "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout",
                 tls.key.string(), "-out", tls.certificate.string()},
        .log_file = directory / "openssl.log",
        .working_directory = std::nullopt});
    const auto status = child.wait_for_exit(30'000ms);
    INFO("openssl:\n" << child.log_tail());
    INFO("openssl exit status: " << status.value_or(-1000));
    INFO("files in " << directory.string() << ":\n" << listing(directory));
    REQUIRE(status == 0);
    return tls;
}

int free_local_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd >= 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    socklen_t length = sizeof address;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
    ::close(fd);
    return ntohs(address.sin_port);
}

} // namespace fsmirror::integration
