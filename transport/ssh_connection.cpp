#include "transport/ssh_connection.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <vector>

#include <fmt/format.h>
#include <libssh2.h>

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

namespace fsmirror::transport {

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

struct KeyType {
    int hostkey_type;    // LIBSSH2_HOSTKEY_TYPE_*
    int knownhost_bit;   // LIBSSH2_KNOWNHOST_KEY_*
    const char* name;    // as in known_hosts
    const char* methods; // libssh2 host key method names for this key
};

constexpr std::array k_key_types = {
    KeyType{LIBSSH2_HOSTKEY_TYPE_ED25519, LIBSSH2_KNOWNHOST_KEY_ED25519, "ssh-ed25519",
            "ssh-ed25519"},
    KeyType{LIBSSH2_HOSTKEY_TYPE_ECDSA_256, LIBSSH2_KNOWNHOST_KEY_ECDSA_256, "ecdsa-sha2-nistp256",
            "ecdsa-sha2-nistp256"},
    KeyType{LIBSSH2_HOSTKEY_TYPE_ECDSA_384, LIBSSH2_KNOWNHOST_KEY_ECDSA_384, "ecdsa-sha2-nistp384",
            "ecdsa-sha2-nistp384"},
    KeyType{LIBSSH2_HOSTKEY_TYPE_ECDSA_521, LIBSSH2_KNOWNHOST_KEY_ECDSA_521, "ecdsa-sha2-nistp521",
            "ecdsa-sha2-nistp521"},
    KeyType{LIBSSH2_HOSTKEY_TYPE_RSA, LIBSSH2_KNOWNHOST_KEY_SSHRSA, "ssh-rsa",
            "rsa-sha2-512,rsa-sha2-256,ssh-rsa"},
};

const KeyType* key_type_for(int hostkey_type) {
    for (const auto& type : k_key_types)
        if (type.hostkey_type == hostkey_type)
            return &type;
    return nullptr;
}

void init_libssh2_once() {
    static std::once_flag once;
    std::call_once(once, [] { libssh2_init(0); });
}

std::string last_message(LIBSSH2_SESSION* session) {
    char* message = nullptr;
    int length = 0;
    libssh2_session_last_error(session, &message, &length, 0);
    if (message == nullptr || length <= 0)
        return "unknown libssh2 error";
    return std::string(message, static_cast<std::size_t>(length));
}

std::string home_directory() {
    if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0')
        return home;
    if (const passwd* entry = ::getpwuid(::geteuid()); entry != nullptr)
        return entry->pw_dir;
    return "/";
}

// The host as known_hosts names it: "host" on port 22, "[host]:port" otherwise.
std::string known_hosts_name(const SshOptions& options) {
    if (options.port == 22)
        return options.host;
    return fmt::format("[{}]:{}", options.host, options.port);
}

// Opens a TCP connection to `host`:`port` within `timeout`, trying every address. Returns the
// connected, non-blocking socket.
base::Result<int> connect_tcp(const SshOptions& options, std::chrono::milliseconds timeout) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    std::string host = options.host;
    if (host.size() > 2 && host.front() == '[' && host.back() == ']')
        host = host.substr(1, host.size() - 2);
    const std::string port = std::to_string(options.port);
    // A literal address is used as given: AI_ADDRCONFIG would refuse ::1 on a machine whose
    // only IPv6 address is the loopback one. Names only resolve to families the machine has.
    hints.ai_flags = AI_NUMERICHOST;
    int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &found);
    if (rc == EAI_NONAME) {
        hints.ai_flags = AI_ADDRCONFIG;
        rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &found);
    }
    if (rc != 0)
        return base::fail(base::ErrorKind::transient,
                          fmt::format("cannot resolve {}: {}", options.host, ::gai_strerror(rc)));
    std::unique_ptr<addrinfo, void (*)(addrinfo*)> addresses(found, ::freeaddrinfo);
    std::string last_error = "no address";
    auto deadline = Clock::now() + timeout;
    for (addrinfo* address = found; address != nullptr; address = address->ai_next) {
        int fd = ::socket(address->ai_family, address->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                          address->ai_protocol);
        if (fd < 0) {
            last_error = std::strerror(errno);
            continue;
        }
        base::UniqueFd socket(fd);
        if (::connect(fd, address->ai_addr, address->ai_addrlen) != 0 && errno != EINPROGRESS) {
            last_error = std::strerror(errno);
            continue;
        }
        pollfd waiting{fd, POLLOUT, 0};
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        int ready = ::poll(&waiting, 1, static_cast<int>(std::max(left.count(), 0L)));
        if (ready == 0) {
            last_error = fmt::format("no answer within {} ms", timeout.count());
            continue;
        }
        int error = 0;
        socklen_t length = sizeof error;
        if (ready < 0 || ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0 ||
            error != 0) {
            last_error = std::strerror(ready < 0 ? errno : error);
            continue;
        }
        int one = 1;
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        ::setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
        return socket.release();
    }
    return base::fail(
        base::ErrorKind::transient,
        fmt::format("cannot connect to {} port {}: {}", options.host, options.port, last_error));
}

// A known_hosts line marked @revoked: its key is refused for every host, whatever the policy.
struct RevokedKey {
    std::string key_base64; // as written in the file
    std::size_t line = 0;
};

// known_hosts entries of one session. Lines libssh2 cannot parse (security-key types) are
// skipped instead of failing the whole file, as OpenSSH does. Markers libssh2 does not know are
// handled here: @revoked keys are collected (a revoked key must be refused even when another
// line accepts it), @cert-authority lines are ignored because fsmirror does not check host
// certificates.
class KnownHosts {
public:
    explicit KnownHosts(LIBSSH2_SESSION* session) : m_hosts(libssh2_knownhost_init(session)) {}
    ~KnownHosts() {
        if (m_hosts != nullptr)
            libssh2_knownhost_free(m_hosts);
    }
    KnownHosts(const KnownHosts&) = delete;
    KnownHosts& operator=(const KnownHosts&) = delete;

    LIBSSH2_KNOWNHOSTS* get() const { return m_hosts; }

    // Loads `path`; a missing file is an empty list. `logger` is null when the caller only
    // probes the file and must not repeat its notes.
    base::Status load(const std::filesystem::path& path, base::Logger* logger) {
        if (m_hosts == nullptr)
            return base::fail(base::ErrorKind::fatal, "libssh2_knownhost_init failed");
        struct stat st {};
        if (::stat(path.c_str(), &st) != 0 && errno == ENOENT)
            return {};
        std::ifstream in(path);
        if (!in)
            return base::fail(base::ErrorKind::permission_denied,
                              "cannot read known_hosts file " + path.string());
        std::string line;
        for (std::size_t number = 1; std::getline(in, line); ++number) {
            auto start = line.find_first_not_of(" \t");
            if (start == std::string::npos || line[start] == '#')
                continue;
            if (line[start] == '@') {
                note_marker(std::string_view(line).substr(start), path, number, logger);
                continue;
            }
            line += '\n';
            libssh2_knownhost_readline(m_hosts, line.data() + start, line.size() - start,
                                       LIBSSH2_KNOWNHOST_FILE_OPENSSH);
        }
        return {};
    }

    // Returns the @revoked line holding `key_base64`, if any.
    const RevokedKey* revoked(std::string_view key_base64) const {
        for (const auto& entry : m_revoked)
            if (entry.key_base64 == key_base64)
                return &entry;
        return nullptr;
    }

    // True when some entry for the host has a key of type `bit` (a check with a key that cannot
    // match tells a mismatch of that type apart from no entry).
    bool has_key_type(const SshOptions& options, int bit) const {
        static constexpr char k_impossible_key[] = "fsmirror-probe";
        int result = libssh2_knownhost_checkp(
            m_hosts, options.host.c_str(), options.port, k_impossible_key,
            sizeof k_impossible_key - 1,
            LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_RAW | bit, nullptr);
        return result == LIBSSH2_KNOWNHOST_CHECK_MISMATCH;
    }

private:
    // "@marker host-patterns key-type key [comment]"
    void note_marker(std::string_view line, const std::filesystem::path& path, std::size_t number,
                     base::Logger* logger) {
        std::vector<std::string_view> fields;
        while (fields.size() < 4) {
            auto begin = line.find_first_not_of(" \t");
            if (begin == std::string_view::npos)
                break;
            line.remove_prefix(begin);
            auto end = line.find_first_of(" \t");
            fields.push_back(line.substr(0, end));
            line.remove_prefix(end == std::string_view::npos ? line.size() : end);
        }
        if (!fields.empty() && fields[0] == "@revoked" && fields.size() == 4) {
            // The host patterns are not consulted: a revoked key is compromised for any host.
            m_revoked.push_back(RevokedKey{std::string(fields[3]), number});
            return;
        }
        if (logger == nullptr)
            return;
        if (!fields.empty() && fields[0] == "@cert-authority")
            logger->debug("{}:{}: @cert-authority line ignored: fsmirror does not check host "
                          "certificates, only plain host keys",
                          path.string(), number);
        else
            logger->debug("{}:{}: line with an unknown marker ignored", path.string(), number);
    }

    LIBSSH2_KNOWNHOSTS* m_hosts;
    std::vector<RevokedKey> m_revoked;
};

// Returns `bytes` in base64 with padding, as known_hosts holds keys.
std::string base64_padded(std::string_view bytes) {
    std::string out = base64_unpadded(bytes);
    out.append((4 - out.size() % 4) % 4, '=');
    return out;
}

// Returns the host key methods this libssh2 supports.
std::vector<std::string> supported_host_key_methods(LIBSSH2_SESSION* session) {
    const char** algorithms = nullptr;
    int count = libssh2_session_supported_algs(session, LIBSSH2_METHOD_HOSTKEY, &algorithms);
    std::vector<std::string> supported;
    for (int i = 0; i < count; ++i)
        supported.emplace_back(algorithms[i]);
    if (count > 0)
        libssh2_free(session, algorithms);
    return supported;
}

// Prefers the host key types known_hosts already holds for this host, as OpenSSH does, so a
// host known by its ECDSA key is not refused because the server offered ED25519 first. Only
// methods libssh2 supports are named: it mishandles (overlapping memcpy) the removal of others.
void prefer_known_key_types(LIBSSH2_SESSION* session, const SshOptions& options) {
    KnownHosts hosts(session);
    if (!hosts.load(options.known_hosts, nullptr))
        return;
    const auto supported = supported_host_key_methods(session);
    std::vector<std::string> known;
    std::vector<std::string> rest;
    for (const auto& type : k_key_types) {
        auto& list = hosts.has_key_type(options, type.knownhost_bit) ? known : rest;
        std::string_view methods = type.methods;
        while (!methods.empty()) {
            auto comma = methods.find(',');
            std::string method(methods.substr(0, comma));
            methods.remove_prefix(comma == std::string_view::npos ? methods.size() : comma + 1);
            if (std::find(supported.begin(), supported.end(), method) != supported.end())
                list.push_back(method);
        }
    }
    if (known.empty())
        return;
    std::string preference;
    for (const auto& list : {known, rest})
        for (const auto& method : list)
            preference += (preference.empty() ? "" : ",") + method;
    libssh2_session_method_pref(session, LIBSSH2_METHOD_HOSTKEY, preference.c_str());
}

base::Status append_known_host(KnownHosts& hosts, const SshOptions& options, const char* key,
                               std::size_t key_length, const KeyType& type, base::Logger& logger,
                               const std::string& fingerprint) {
    const std::string name = known_hosts_name(options);
    libssh2_knownhost* added = nullptr;
    static constexpr char k_comment[] = "added by fsmirror";
    if (libssh2_knownhost_addc(
            hosts.get(), name.c_str(), nullptr, key, key_length, k_comment, sizeof k_comment - 1,
            LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_RAW | type.knownhost_bit,
            &added) != 0)
        return base::fail(base::ErrorKind::fatal, "cannot add the host key to known_hosts");
    std::vector<char> line(8192);
    std::size_t length = 0;
    if (libssh2_knownhost_writeline(hosts.get(), added, line.data(), line.size(), &length,
                                    LIBSSH2_KNOWNHOST_FILE_OPENSSH) != 0)
        return base::fail(base::ErrorKind::fatal, "cannot format the known_hosts line");
    const auto& path = options.known_hosts;
    if (path.has_parent_path())
        ::mkdir(path.parent_path().c_str(), 0700); // ~/.ssh, as ssh creates it
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0)
        return base::fail_errno("cannot add the host key to " + path.string());
    base::UniqueFd file(fd);
    std::string_view text(line.data(), length);
    while (!text.empty()) {
        ssize_t n = ::write(fd, text.data(), text.size());
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return base::fail_errno("cannot add the host key to " + path.string());
        text.remove_prefix(static_cast<std::size_t>(n));
    }
    logger.warning("permanently added the {} host key of {} ({}) to {} (host key policy "
                   "accept-new)",
                   type.name, name, fingerprint, path.string());
    return {};
}

base::Status verify_host_key(LIBSSH2_SESSION* session, const SshOptions& options,
                             base::Logger& logger) {
    std::size_t key_length = 0;
    int raw_type = 0;
    const char* key = libssh2_session_hostkey(session, &key_length, &raw_type);
    const KeyType* type = key_type_for(raw_type);
    if (key == nullptr || type == nullptr)
        return base::fail(
            base::ErrorKind::protocol,
            fmt::format("{} offered a host key of a type fsmirror cannot check", options.host));
    const char* hash = libssh2_hostkey_hash(session, LIBSSH2_HOSTKEY_HASH_SHA256);
    std::string fingerprint = hash == nullptr
                                  ? "(no SHA256 fingerprint)"
                                  : "SHA256:" + base64_unpadded(std::string_view(hash, 32));

    KnownHosts hosts(session);
    if (auto loaded = hosts.load(options.known_hosts, &logger); !loaded)
        return loaded;
    const std::string name = known_hosts_name(options);
    if (const RevokedKey* revoked = hosts.revoked(base64_padded(std::string_view(key, key_length))))
        return base::fail(
            base::ErrorKind::permission_denied,
            fmt::format("host key verification failed: the {} host key of {} ({}) is marked "
                        "@revoked in {}:{}; it is refused whatever the host key policy. Ask the "
                        "host's administrator for its new key",
                        type->name, name, fingerprint, options.known_hosts.string(),
                        revoked->line));
    int result = libssh2_knownhost_checkp(
        hosts.get(), options.host.c_str(), options.port, key, key_length,
        LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_RAW | type->knownhost_bit, nullptr);
    switch (result) {
    case LIBSSH2_KNOWNHOST_CHECK_MATCH:
        return {};
    case LIBSSH2_KNOWNHOST_CHECK_MISMATCH:
        return base::fail(
            base::ErrorKind::permission_denied,
            fmt::format("host key verification failed: the {} host key of {} has CHANGED; it "
                        "is now {} and {} holds a different one. Someone may be intercepting "
                        "the connection; if the host key was replaced on purpose, remove the "
                        "old entry (ssh-keygen -R '{}' -f {}) and connect again",
                        type->name, name, fingerprint, options.known_hosts.string(), name,
                        options.known_hosts.string()));
    case LIBSSH2_KNOWNHOST_CHECK_NOTFOUND:
        if (options.host_key_policy == HostKeyPolicy::accept_new)
            return append_known_host(hosts, options, key, key_length, *type, logger, fingerprint);
        return base::fail(
            base::ErrorKind::permission_denied,
            fmt::format("host key verification failed: {} is not in {} (its {} key is {}). "
                        "Check the fingerprint with the host's administrator, then add it "
                        "(ssh-keyscan -p {} {} >> {}), or use the host key policy accept-new",
                        name, options.known_hosts.string(), type->name, fingerprint, options.port,
                        options.host, options.known_hosts.string()));
    default:
        return base::fail(base::ErrorKind::fatal,
                          fmt::format("cannot check the host key of {} against {}: {}", name,
                                      options.known_hosts.string(), last_message(session)));
    }
}

// Offers each key ssh-agent at `socket` holds. Returns true once one was accepted; otherwise
// notes in `tried` why the agent did not help (unreachable, no keys, every key refused), so the
// final error tells an empty or wrong agent apart from a missing one.
bool try_agent(LIBSSH2_SESSION* session, const std::string& user, const char* socket,
               std::vector<std::string>& tried, base::Logger& logger) {
    LIBSSH2_AGENT* agent = libssh2_agent_init(session);
    if (agent == nullptr) {
        tried.push_back(
            fmt::format("ssh-agent at {} (cannot be used: {})", socket, last_message(session)));
        return false;
    }
    std::unique_ptr<LIBSSH2_AGENT, void (*)(LIBSSH2_AGENT*)> owned(agent, [](LIBSSH2_AGENT* a) {
        libssh2_agent_disconnect(a);
        libssh2_agent_free(a);
    });
    if (libssh2_agent_connect(agent) != 0 || libssh2_agent_list_identities(agent) != 0) {
        tried.push_back(
            fmt::format("ssh-agent at {} (cannot be reached: {})", socket, last_message(session)));
        return false;
    }
    libssh2_agent_publickey* identity = nullptr;
    libssh2_agent_publickey* previous = nullptr;
    std::size_t offered = 0;
    while (libssh2_agent_get_identity(agent, &identity, previous) == 0) {
        previous = identity;
        ++offered;
        const char* comment = identity->comment != nullptr ? identity->comment : "";
        if (libssh2_agent_userauth(agent, user.c_str(), identity) == 0) {
            logger.debug("authenticated with ssh-agent key '{}'", comment);
            return true;
        }
        tried.push_back(fmt::format("ssh-agent key '{}' (refused by the server)", comment));
    }
    if (offered == 0)
        tried.push_back(
            fmt::format("ssh-agent at {} (holds no keys: add one with ssh-add)", socket));
    return false;
}

base::Status authenticate(LIBSSH2_SESSION* session, const SshOptions& options,
                          base::Logger& logger) {
    const std::string who = fmt::format("{}@{}", options.user, options.host);
    char* methods = libssh2_userauth_list(session, options.user.c_str(),
                                          static_cast<unsigned>(options.user.size()));
    if (methods == nullptr) {
        if (libssh2_userauth_authenticated(session))
            return {};
        return base::fail(
            ssh_error_kind(libssh2_session_last_errno(session)),
            fmt::format("authentication as {} failed: {}", who, last_message(session)));
    }
    if (std::strstr(methods, "publickey") == nullptr)
        return base::fail(base::ErrorKind::permission_denied,
                          fmt::format("authentication as {} failed: the server does not accept "
                                      "public keys (it offers: {}); fsmirror never uses "
                                      "passwords",
                                      who, methods));

    std::vector<std::string> tried;
    auto try_file = [&](const std::filesystem::path& path) -> bool {
        int rc = libssh2_userauth_publickey_fromfile_ex(session, options.user.c_str(),
                                                        static_cast<unsigned>(options.user.size()),
                                                        nullptr, path.c_str(), nullptr);
        if (rc == 0)
            return true;
        std::string reason =
            rc == LIBSSH2_ERROR_PUBLICKEY_UNVERIFIED || rc == LIBSSH2_ERROR_AUTHENTICATION_FAILED
                ? "refused by the server"
                : last_message(session);
        if (rc == LIBSSH2_ERROR_FILE)
            reason = "cannot be read or is passphrase-protected (load it into ssh-agent)";
        tried.push_back(fmt::format("{} ({})", path.string(), reason));
        return false;
    };

    if (options.identity_file) {
        struct stat st {};
        if (::stat(options.identity_file->c_str(), &st) != 0)
            return base::fail(base::ErrorKind::permission_denied,
                              fmt::format("authentication as {} failed: cannot read identity "
                                          "file {}: {}",
                                          who, options.identity_file->string(),
                                          std::strerror(errno)));
        if (try_file(*options.identity_file))
            return {};
    } else {
        if (const char* socket = std::getenv("SSH_AUTH_SOCK"); socket != nullptr && *socket) {
            if (try_agent(session, options.user, socket, tried, logger))
                return {};
        }
        auto ssh_dir = std::filesystem::path(home_directory()) / ".ssh";
        for (const char* name : {"id_ed25519", "id_ecdsa", "id_rsa"}) {
            auto path = ssh_dir / name;
            struct stat st {};
            if (::stat(path.c_str(), &st) == 0 && try_file(path))
                return {};
        }
    }
    std::string list;
    for (const auto& attempt : tried)
        list += (list.empty() ? "" : "; ") + attempt;
    return base::fail(base::ErrorKind::permission_denied,
                      fmt::format("authentication as {} failed: {}{}", who,
                                  tried.empty() ? "no key to offer (no --identity, no ssh-agent, "
                                                  "no ~/.ssh/id_*)"
                                                : "tried ",
                                  list));
}

// Logs what the key exchange settled on, so an operator (and the tests) can see whether
// compression was actually agreed rather than merely asked for.
void log_negotiated_methods(LIBSSH2_SESSION* session, const std::string& name,
                            base::Logger& logger) {
    auto method = [&](int type) {
        const char* value = libssh2_session_methods(session, type);
        return value != nullptr ? value : "?";
    };
    logger.debug("{}: key exchange {}, host key {}, cipher {}, compression {} (to the server) "
                 "and {} (from it)",
                 name, method(LIBSSH2_METHOD_KEX), method(LIBSSH2_METHOD_HOSTKEY),
                 method(LIBSSH2_METHOD_CRYPT_CS), method(LIBSSH2_METHOD_COMP_CS),
                 method(LIBSSH2_METHOD_COMP_SC));
}

} // namespace

std::string base64_unpadded(std::string_view bytes) {
    static constexpr char k_alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    std::size_t i = 0;
    auto byte = [&](std::size_t at) {
        return static_cast<unsigned char>(bytes[at]);
    };
    for (; i + 2 < bytes.size(); i += 3) {
        unsigned value = (byte(i) << 16) | (byte(i + 1) << 8) | byte(i + 2);
        out += k_alphabet[(value >> 18) & 63];
        out += k_alphabet[(value >> 12) & 63];
        out += k_alphabet[(value >> 6) & 63];
        out += k_alphabet[value & 63];
    }
    if (bytes.size() - i == 1) {
        unsigned value = byte(i) << 16;
        out += k_alphabet[(value >> 18) & 63];
        out += k_alphabet[(value >> 12) & 63];
    } else if (bytes.size() - i == 2) {
        unsigned value = (byte(i) << 16) | (byte(i + 1) << 8);
        out += k_alphabet[(value >> 18) & 63];
        out += k_alphabet[(value >> 12) & 63];
        out += k_alphabet[(value >> 6) & 63];
    }
    return out;
}

base::ErrorKind ssh_error_kind(int code) {
    switch (code) {
    case LIBSSH2_ERROR_SOCKET_NONE:
    case LIBSSH2_ERROR_BANNER_RECV:
    case LIBSSH2_ERROR_BANNER_SEND:
    case LIBSSH2_ERROR_SOCKET_SEND:
    case LIBSSH2_ERROR_TIMEOUT:
    case LIBSSH2_ERROR_SOCKET_DISCONNECT:
    case LIBSSH2_ERROR_SOCKET_TIMEOUT:
    case LIBSSH2_ERROR_SOCKET_RECV:
    case LIBSSH2_ERROR_BAD_SOCKET:
    case LIBSSH2_ERROR_CHANNEL_CLOSED:
    case LIBSSH2_ERROR_CHANNEL_EOF_SENT:
    case LIBSSH2_ERROR_EAGAIN:
    case LIBSSH2_ERROR_KEX_FAILURE:
    case LIBSSH2_ERROR_KEY_EXCHANGE_FAILURE:
        return base::ErrorKind::transient;
    case LIBSSH2_ERROR_AUTHENTICATION_FAILED:
    case LIBSSH2_ERROR_PUBLICKEY_UNVERIFIED:
    case LIBSSH2_ERROR_PASSWORD_EXPIRED:
    case LIBSSH2_ERROR_FILE:
    case LIBSSH2_ERROR_KNOWN_HOSTS:
        return base::ErrorKind::permission_denied;
    case LIBSSH2_ERROR_ALLOC:
        return base::ErrorKind::limit_reached;
    default:
        return base::ErrorKind::protocol;
    }
}

base::Result<std::unique_ptr<SshConnection>>
SshConnection::open(const SshOptions& options, std::chrono::milliseconds io_timeout,
                    base::Logger& logger) {
    init_libssh2_once();
    // An IPv6 address in brackets, so its colons are not read as the port's.
    const bool ipv6 = options.host.find(':') != std::string::npos;
    auto name = fmt::format("{}@{}:{}", options.user,
                            ipv6 ? "[" + options.host + "]" : options.host, options.port);
    auto socket = connect_tcp(options, options.connect_timeout);
    if (!socket)
        return std::unexpected(socket.error());
    LIBSSH2_SESSION* session = libssh2_session_init();
    if (session == nullptr) {
        ::close(*socket);
        return base::fail(base::ErrorKind::limit_reached, "cannot create an SSH session");
    }
    // From here the connection owns the socket and the session.
    std::unique_ptr<SshConnection> connection(new SshConnection(*socket, session, name));
    libssh2_session_set_blocking(session, 1);
    libssh2_session_set_timeout(session, static_cast<long>(options.connect_timeout.count()));
    if (options.compression)
        libssh2_session_flag(session, LIBSSH2_FLAG_COMPRESS, 1);
    prefer_known_key_types(session, options);
    if (libssh2_session_handshake(session, *socket) != 0)
        return std::unexpected(connection->error(base::ErrorKind::transient,
                                                 "SSH handshake with " + name + " failed"));
    log_negotiated_methods(session, name, logger);
    if (auto verified = verify_host_key(session, options, logger); !verified)
        return std::unexpected(verified.error());
    if (auto authenticated = authenticate(session, options, logger); !authenticated)
        return std::unexpected(authenticated.error());
    libssh2_session_set_timeout(session, static_cast<long>(io_timeout.count()));
    if (options.keepalive.count() > 0)
        libssh2_keepalive_config(session, 1, static_cast<unsigned>(options.keepalive.count()));
    return connection;
}

SshConnection::SshConnection(int socket, _LIBSSH2_SESSION* session, std::string name)
    : m_socket(socket), m_session(session), m_name(std::move(name)) {}

SshConnection::~SshConnection() {
    // A short bound: on a dead connection this must not wait for the full I/O timeout.
    libssh2_session_set_blocking(m_session, 1);
    libssh2_session_set_timeout(m_session, 2000);
    if (!m_abandoned)
        libssh2_session_disconnect(m_session, "fsmirror closing");
    if (libssh2_session_free(m_session) != 0) {
        // It gave up waiting for the peer: cut the socket and let it finish.
        ::shutdown(m_socket, SHUT_RDWR);
        libssh2_session_free(m_session);
    }
    ::close(m_socket);
}

void SshConnection::abandon() {
    m_abandoned = true;
    ::shutdown(m_socket, SHUT_RDWR);
}

bool SshConnection::wait(std::chrono::milliseconds timeout, int wake_fd) const {
    int directions = libssh2_session_block_directions(m_session);
    pollfd fds[2] = {};
    fds[0].fd = m_socket;
    fds[0].events = POLLIN;
    if (directions & LIBSSH2_SESSION_BLOCK_OUTBOUND)
        fds[0].events |= POLLOUT;
    fds[1].fd = wake_fd;
    fds[1].events = POLLIN;
    int count = wake_fd >= 0 ? 2 : 1;
    int ready = ::poll(fds, static_cast<nfds_t>(count), static_cast<int>(timeout.count()));
    return ready > 0 && (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) != 0;
}

base::Error SshConnection::error(base::ErrorKind kind, const std::string& context) const {
    int code = libssh2_session_last_errno(m_session);
    return base::Error{kind, context + ": " + last_message(m_session), code};
}

} // namespace fsmirror::transport
