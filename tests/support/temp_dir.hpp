#pragma once
// A directory that exists for the lifetime of one object: tests create their trees in it and
// never clean up by hand.

#include <filesystem>
#include <string_view>

namespace fsmirror::test_support {

class TempDir {
public:
    // Creates a fresh directory "<prefix>-XXXXXX" (mkdtemp) under $TMPDIR, or /tmp when TMPDIR
    // is unset or empty. Throws std::system_error naming the template when it cannot.
    explicit TempDir(std::string_view prefix = "fsmirror-test");

    // Removes the directory and everything below it. Failures are printed to stderr, not thrown:
    // a leftover temp dir must not turn a passing test into a crash.
    ~TempDir();

    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    // Returns the absolute path of the directory.
    const std::filesystem::path& path() const { return m_path; }

    // Returns path() / relative, for brevity in tests.
    std::filesystem::path operator/(const std::filesystem::path& relative) const {
        return m_path / relative;
    }

private:
    std::filesystem::path m_path;
};

} // namespace fsmirror::test_support
