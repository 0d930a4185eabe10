// The corpus of real lsyncd configs (tests/lsyncd-configs) run end to end through
// `fsmirror -nodaemon FILE`, their absolute paths pointed at temporary directories.

#include "tests/integration/mirror_fixture.hpp"
#include "tests/support/file_ops.hpp"
#include "tests/support/wait.hpp"

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>
#include <fmt/format.h>

namespace fs = std::filesystem;
using namespace fsmirror::test_support;
using fsmirror::integration::k_exit_timeout;
using fsmirror::integration::MirrorFixture;

namespace {

const fs::path k_corpus = FSMIRROR_LSYNCD_CONFIGS;

using Replacements = std::vector<std::pair<std::string, std::string>>;

// Copies the corpus file `name` to `out` with every `from` replaced by `to`.
fs::path rewrite_config(const std::string& name, const Replacements& replacements,
                        const fs::path& out) {
    std::string text = read_file(k_corpus / name);
    for (const auto& [from, to] : replacements) {
        INFO("corpus file " << name << " has no '" << from << "'");
        REQUIRE(text.find(from) != std::string::npos);
        for (std::size_t at = text.find(from); at != std::string::npos;
             at = text.find(from, at + to.size()))
            text.replace(at, from.size(), to);
    }
    write_file(out, text);
    return out;
}

// Sends `signal` and returns the exit status; REQUIREs that the daemon ended.
int stop_with(MirrorFixture& mirror, int signal) {
    REQUIRE(mirror.daemon().send_signal(signal));
    const std::optional<int> status = mirror.daemon().wait_for_exit(k_exit_timeout);
    INFO("daemon log:\n" << mirror.log_tail());
    REQUIRE(status.has_value());
    return *status;
}

} // namespace

TEST_CASE("lsyncd: the storage mirror config mirrors end to end", "[integration][lsyncd]") {
    MirrorFixture mirror;
    const fs::path logs = mirror.root() / "logs";
    fs::create_directory(logs);
    make_tree(mirror.source(), 8, 30);
    write_file(mirror.source() / "private.db", "owner only\n");
    set_mode(mirror.source() / "private.db", 0600);
    write_file(mirror.target() / "stale.txt", "deleted at startup: delete = true\n");

    // The playbook's file, paths aside; -nodaemon as a systemd unit would pass it.
    const fs::path config = rewrite_config("storage-mirror.lua",
                                           {{"/mnt/storage_do_1/", mirror.source().string() + "/"},
                                            {"/mnt/storage_do_2/", mirror.target().string() + "/"},
                                            {"/var/log/lsyncd/", logs.string() + "/"}},
                                           mirror.root() / "lsyncd.conf.lua");
    mirror.start_with_args({"-nodaemon", config.string()}, std::nullopt, 1);
    mirror.require_mirrored();
    CHECK_FALSE(exists_no_follow(mirror.target() / "stale.txt"));

    // --inplace: an existing large file is updated where it is.
    const std::string big = make_content(256 * 1024, 7);
    write_file(mirror.source() / "big.bin", big);
    mirror.require_mirrored();
    INFO("daemon log:\n" << mirror.log_tail());
    REQUIRE(exists_no_follow(mirror.target() / "big.bin"));
    const ino_t inode = inode_of(mirror.target() / "big.bin");
    std::string changed = big;
    changed[1000] ^= 0x5a;
    overwrite_file(mirror.source() / "big.bin", changed);
    write_file(mirror.source() / "d000/new.txt", "created while running\n");
    fs::remove(mirror.source() / "f000");
    fs::rename(mirror.source() / "d005", mirror.source() / "d005-renamed");
    mirror.require_mirrored();
    CHECK(inode_of(mirror.target() / "big.bin") == inode);

    // lsyncd's log shapes: console "HH:MM:SS Normal: ...", log file with a ctime prefix.
    const std::string console = mirror.daemon().log_text();
    CHECK_THAT(console, Catch::Contains(" Normal: --- Startup ---"));
    CHECK_THAT(console,
               Catch::Contains(fmt::format("Normal: Startup of {}/ -> {}/ finished.",
                                           mirror.source().string(), mirror.target().string())));
    const std::string log = read_file(logs / "lsyncd.log");
    CHECK_THAT(log, Catch::Matches("(.|\n)*[A-Z][a-z]{2} [A-Z][a-z]{2} [ 0-9]{2} "
                                   "[0-9]{2}:[0-9]{2}:[0-9]{2} [0-9]{4} Normal: --- Startup ---"
                                   "(.|\n)*"));

    CHECK(stop_with(mirror, SIGTERM) == 143);
    CHECK_THAT(read_file(logs / "lsyncd.log"),
               Catch::Contains("Normal: --- TERM signal, fading ---"));
}

TEST_CASE("lsyncd: several syncs built in a loop mirror end to end", "[integration][lsyncd]") {
    MirrorFixture mirror;
    const fs::path root = mirror.root() / "volumes";
    const std::vector<std::string> volumes = {"docs", "media", "db"};
    unsigned seed = 1;
    for (const std::string& volume : volumes) {
        fs::create_directories(root / "primary" / volume);
        fs::create_directories(root / "secondary" / volume);
        make_tree(root / "primary" / volume, 4, 10, seed++);
        write_file(root / "primary" / volume / "scratch.tmp", "excluded\n");
    }
    const fs::path logs = mirror.root() / "logs";
    fs::create_directory(logs);
    const fs::path config = rewrite_config(
        "loop-syncs.lua", {{"/var/log/lsyncd/", logs.string() + "/"}}, mirror.root() / "loop.lua");
    // The config reads MIRROR_ROOT with os.getenv; the daemon inherits this environment.
    ::setenv("MIRROR_ROOT", root.c_str(), 1);
    mirror.start_with_args({"--nodaemon", config.string()}, std::nullopt, volumes.size());
    ::unsetenv("MIRROR_ROOT");

    CompareOptions options;
    options.ignored = {"scratch.tmp", "d000/later.tmp"};
    for (const std::string& volume : volumes)
        mirror.require_mirrored(root / "primary" / volume, root / "secondary" / volume, options);
    for (const std::string& volume : volumes) {
        CHECK_FALSE(exists_no_follow(root / "secondary" / volume / "scratch.tmp"));
        write_file(root / "primary" / volume / "d000/later.txt", volume + " while running\n");
        write_file(root / "primary" / volume / "d000/later.tmp", "excluded\n");
    }
    for (const std::string& volume : volumes) {
        mirror.require_mirrored(root / "primary" / volume, root / "secondary" / volume, options);
        CHECK_FALSE(exists_no_follow(root / "secondary" / volume / "d000/later.tmp"));
    }
    CHECK_THAT(mirror.daemon().log_text(), Catch::Contains("mirror-media: initial sync finished"));
    CHECK(stop_with(mirror, SIGTERM) == 143);
}

TEST_CASE("lsyncd: excludeFrom reads its patterns from a file", "[integration][lsyncd]") {
    MirrorFixture mirror;
    const fs::path excludes = mirror.root() / "data.exclude";
    write_file(excludes, read_file(k_corpus / "data.exclude"));
    make_tree(mirror.source(), 3, 6);
    fs::create_directory(mirror.source() / "cache");
    write_file(mirror.source() / "cache/blob", "cached\n");
    write_file(mirror.source() / "d000/upload.part", "partial\n");
    write_file(mirror.source() / "keep.txt", "kept\n");
    const fs::path config =
        rewrite_config("exclude-from.lua",
                       {{"/srv/data", mirror.source().string()},
                        {"/srv/mirror", mirror.target().string()},
                        {"/etc/lsyncd/data.exclude", excludes.string()},
                        {"/var/log/lsyncd.log", (mirror.root() / "l.log").string()}},
                       mirror.root() / "exclude.lua");
    // nodaemon = true in the file itself.
    mirror.start_with_args({config.string()}, std::nullopt, 1);
    CompareOptions options;
    options.ignored = {"cache", "d000/upload.part", "d000/x.tmp"};
    mirror.require_mirrored(options);
    CHECK_FALSE(exists_no_follow(mirror.target() / "cache"));
    CHECK_FALSE(exists_no_follow(mirror.target() / "d000/upload.part"));
    write_file(mirror.source() / "d000/x.tmp", "excluded while running\n");
    write_file(mirror.source() / "d000/x.txt", "mirrored while running\n");
    mirror.require_mirrored(options);
    CHECK_FALSE(exists_no_follow(mirror.target() / "d000/x.tmp"));
    CHECK(stop_with(mirror, SIGINT) == 130);
}

TEST_CASE("lsyncd: the manual's default.direct and default.rsync examples",
          "[integration][lsyncd]") {
    for (const char* name : {"manual-layer4-direct.lua", "manual-layer4-rsync.lua"}) {
        DYNAMIC_SECTION(name) {
            MirrorFixture mirror;
            make_tree(mirror.source(), 4, 12);
            write_file(mirror.source() / "old.bak", "excluded by the rsync example\n");
            Replacements paths = {{"/home/user/src/", mirror.source().string() + "/"},
                                  {"/home/user/dst/", mirror.target().string() + "/"}};
            if (std::string(name) == "manual-layer4-rsync.lua")
                paths.push_back({"/var/log/lsyncd/", mirror.root().string() + "/"});
            const fs::path config = rewrite_config(name, paths, mirror.root() / "manual.lua");
            // -delay on the command line wins over the file's 5 s.
            mirror.start_with_args({"-nodaemon", "-delay", "0.2", config.string()}, std::nullopt,
                                   1);
            CompareOptions options;
            options.ignored = {"old.bak"};
            mirror.require_mirrored(options);
            write_file(mirror.source() / "d000/added.txt", "added\n");
            fs::remove_all(mirror.source() / "d001");
            mirror.require_mirrored(options);
            CHECK(stop_with(mirror, SIGTERM) == 143);
        }
    }
}
