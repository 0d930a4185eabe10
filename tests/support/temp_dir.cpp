#include "tests/support/temp_dir.hpp"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <system_error>
#include <vector>

#include <stdlib.h>

namespace fsmirror::test_support {

namespace fs = std::filesystem;

namespace {

fs::path temp_root() {
    const char* tmpdir = std::getenv("TMPDIR");
    if (tmpdir != nullptr && *tmpdir != '\0')
        return fs::path(tmpdir);
    return fs::path("/tmp");
}

// Tests may leave directories without write or search permission (chmod tests); give the owner
// full access again so remove_all can descend and unlink. Errors are ignored here on purpose:
// remove_all reports whatever is still in the way.
void make_removable(const fs::path& root) {
    std::error_code ec;
    fs::permissions(root, fs::perms::owner_all, fs::perm_options::add, ec);
    auto it =
        fs::recursive_directory_iterator(root, fs::directory_options::skip_permission_denied, ec);
    for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
        std::error_code status_ec;
        if (it->is_directory(status_ec) && !it->is_symlink(status_ec))
            fs::permissions(it->path(), fs::perms::owner_all, fs::perm_options::add, status_ec);
    }
}

} // namespace

TempDir::TempDir(std::string_view prefix) {
    const std::string pattern = (temp_root() / (std::string(prefix) + "-XXXXXX")).string();
    std::vector<char> buffer(pattern.begin(), pattern.end());
    buffer.push_back('\0');
    if (::mkdtemp(buffer.data()) == nullptr)
        throw std::system_error(errno, std::generic_category(), "mkdtemp " + pattern);
    m_path = fs::path(buffer.data());
}

TempDir::~TempDir() {
    // FSMIRROR_KEEP_TEST_DIRS=1 keeps the directories (and daemon logs) for a post-mortem.
    if (const char* keep = std::getenv("FSMIRROR_KEEP_TEST_DIRS"); keep && *keep == '1') {
        std::fprintf(stderr, "kept %s\n", m_path.c_str());
        return;
    }
    std::error_code ec;
    fs::remove_all(m_path, ec);
    if (ec) {
        make_removable(m_path);
        ec.clear();
        fs::remove_all(m_path, ec);
    }
    if (ec)
        std::fprintf(stderr, "warning: cannot remove temp dir %s: %s\n", m_path.c_str(),
                     ec.message().c_str());
}

} // namespace fsmirror::test_support
