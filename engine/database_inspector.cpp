#include "engine/database_inspector.hpp"

#include "engine/helper_process.hpp"

#include <fmt/format.h>

namespace fsmirror::engine {

namespace {

constexpr std::string_view k_digest_prefix = "digest ";
constexpr std::string_view k_integrity_prefix = "integrity ";

class HelperDatabaseInspector final : public DatabaseInspector {
public:
    explicit HelperDatabaseInspector(HelperOptions options) : m_options(std::move(options)) {}

    base::Result<DatabaseContent> inspect(int dir_fd, const std::string& name,
                                          DatabaseAccess access, bool integrity_check) override {
        std::vector<std::string> args{"sqlite-digest", "--database", name, "--busy-timeout-ms",
                                      std::to_string(m_options.busy_timeout.count())};
        if (access == DatabaseAccess::immutable)
            args.emplace_back("--immutable");
        if (integrity_check)
            args.emplace_back("--integrity-check");
        auto ran = run_helper(m_options.program, args, dir_fd, m_options.time_limit,
                              "the digest helper for " + name);
        if (!ran)
            return std::unexpected(ran.error());
        if (ran->signal != 0)
            return base::fail(base::ErrorKind::fatal,
                              fmt::format("digest helper for {} died of signal {}: {}", name,
                                          ran->signal, ran->output));
        if (ran->status != k_snapshot_ok)
            return base::fail(error_kind_for_snapshot_status(ran->status),
                              ran->output.empty()
                                  ? fmt::format("digest helper exited with status {}", ran->status)
                                  : ran->output,
                              ran->status);
        return parse(ran->output, name);
    }

private:
    // The helper prints "digest sqlite:<hex>" and, when asked, "integrity <result>".
    static base::Result<DatabaseContent> parse(const std::string& output, const std::string& name) {
        DatabaseContent content;
        std::size_t start = 0;
        while (start < output.size()) {
            std::size_t end = output.find('\n', start);
            if (end == std::string::npos)
                end = output.size();
            const std::string_view line(output.data() + start, end - start);
            if (line.starts_with(k_digest_prefix))
                content.digest = line.substr(k_digest_prefix.size());
            else if (line.starts_with(k_integrity_prefix))
                content.integrity = std::string(line.substr(k_integrity_prefix.size()));
            start = end + 1;
        }
        if (content.digest.empty())
            return base::fail(
                base::ErrorKind::protocol,
                fmt::format("digest helper for {} printed no digest: {}", name, output));
        return content;
    }

    HelperOptions m_options;
};

} // namespace

std::unique_ptr<DatabaseInspector> make_helper_database_inspector(HelperOptions options) {
    return std::make_unique<HelperDatabaseInspector>(std::move(options));
}

} // namespace fsmirror::engine
