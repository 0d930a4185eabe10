// `fsmirror verify` through the binary: every kind of difference that can be planted is
// found, none where there is none, and the exit status says which.

#include "tests/integration/mirror_fixture.hpp"
#include "tests/integration/safety_support.hpp"
#include "tests/support/file_ops.hpp"

#include <filesystem>
#include <string>

#include <catch2/catch.hpp>
#include <fmt/format.h>

namespace fs = std::filesystem;
using namespace fsmirror::test_support;
using fsmirror::integration::fingerprint;
using fsmirror::integration::MirrorFixture;
using fsmirror::integration::run_verify;

namespace {

// A mirrored pair with one entry of each kind, and fixed times everywhere.
void populate(MirrorFixture& mirror) {
    fs::create_directories(mirror.source() / "dir/sub");
    write_file(mirror.source() / "same-size.bin", make_content(200'000, 3));
    write_file(mirror.source() / "grows.txt", "short\n");
    write_file(mirror.source() / "mode.txt", "mode\n");
    write_file(mirror.source() / "mtime.txt", "mtime\n");
    write_file(mirror.source() / "dir/sub/gone.txt", "will go missing on the target\n");
    write_file(mirror.source() / "becomes-dir", "a file on the source\n");
    make_symlink("grows.txt", mirror.source() / "link");
    REQUIRE(mirror.run_to_completion({"sync", "--source", mirror.source().string(), "--target",
                                      mirror.target().string()}) == 0);
}

} // namespace

TEST_CASE("verify finds no difference in a fresh mirror, with or without --checksum",
          "[integration][safety][verify]") {
    MirrorFixture mirror;
    make_tree(mirror.source(), 8, 30);
    make_symlink("d000", mirror.source() / "to-dir");
    populate(mirror);
    const auto before = fingerprint(mirror.target());
    for (const auto& extra : std::vector<std::vector<std::string>>{{}, {"--checksum"}}) {
        auto outcome = run_verify(mirror, extra);
        INFO(outcome.log);
        CHECK(outcome.status == 0);
        CHECK_THAT(outcome.log, Catch::Contains("0 differences"));
    }
    CHECK(fingerprint(mirror.target()) == before); // read-only
}

TEST_CASE("verify finds every kind of planted difference", "[integration][safety][verify]") {
    MirrorFixture mirror;
    populate(mirror);
    const fs::path& t = mirror.target();
    // content: same size, same mtime, one byte flipped
    const auto mtime = get_mtime(t / "same-size.bin");
    auto changed = make_content(200'000, 3);
    changed[123'456] ^= 0x20;
    overwrite_file(t / "same-size.bin", changed);
    set_mtime(t / "same-size.bin", mtime);
    // size
    const auto grows_mtime = get_mtime(t / "grows.txt");
    write_file(t / "grows.txt", "longer than before\n");
    set_mtime(t / "grows.txt", grows_mtime);
    // mode, mtime
    set_mode(t / "mode.txt", 0600);
    set_mtime(t / "mtime.txt", make_time(1'000'000'000, 1));
    // missing, extra
    const auto sub_mtime = get_mtime(t / "dir/sub");
    fs::remove(t / "dir/sub/gone.txt");
    set_mtime(t / "dir/sub", sub_mtime);
    const auto root_mtime = get_mtime(t);
    write_file(t / "extra.txt", "only on the target\n");
    // type
    fs::remove(t / "becomes-dir");
    fs::create_directory(t / "becomes-dir");
    // symlink target
    const auto link_mtime = get_mtime(t / "link");
    fs::remove(t / "link");
    make_symlink("mode.txt", t / "link");
    set_mtime(t / "link", link_mtime);
    set_mtime(t, root_mtime);

    auto quick = run_verify(mirror);
    INFO(quick.log);
    CHECK(quick.status == 1);
    for (const char* line :
         {"extra /extra.txt (file, 19 bytes)", "missing /dir/sub/gone.txt (file, 30 bytes)",
          "type /becomes-dir: file on the source, directory on the target",
          "size /grows.txt: 6 on the source, 19 on the target",
          "mode /mode.txt: 0644 on the source, 0600 on the target",
          "symlink /link: 'grows.txt' on the source, 'mode.txt' on the target",
          "mtime /mtime.txt: "})
        CHECK_THAT(quick.log, Catch::Contains(line));
    CHECK_THAT(quick.log, !Catch::Contains("content /same-size.bin"));
    CHECK_THAT(quick.log, Catch::Contains("7 differences"));

    auto thorough = run_verify(mirror, {"--checksum"});
    INFO(thorough.log);
    CHECK(thorough.status == 1);
    CHECK_THAT(thorough.log, Catch::Contains("content /same-size.bin: xxh3:"));
    CHECK_THAT(thorough.log, Catch::Contains("8 differences"));

    auto json = run_verify(mirror, {"--checksum", "--json"});
    INFO(json.log);
    CHECK(json.status == 1);
    CHECK_THAT(json.log, Catch::StartsWith("{\"identical\":false,\"syncs\":[{\"name\":\"sync1\""));
    CHECK_THAT(json.log, Catch::Contains("{\"kind\":\"content\",\"path\":\"/same-size.bin\""));
    CHECK_THAT(json.log, Catch::Contains("{\"kind\":\"extra\",\"path\":\"/extra.txt\""));
}

TEST_CASE("verify honours excludes and ignores the marker", "[integration][safety][verify]") {
    MirrorFixture mirror;
    write_file(mirror.source() / "a.txt", "a\n");
    write_file(mirror.source() / "scratch.tmp", "excluded\n");
    REQUIRE(mirror.run_to_completion({"sync", "--source", mirror.source().string(), "--target",
                                      mirror.target().string(), "--exclude", "*.tmp"}) == 0);
    REQUIRE(fs::exists(mirror.target() / ".fsmirror"));
    auto outcome = run_verify(mirror, {"--exclude", "*.tmp"});
    INFO(outcome.log);
    CHECK(outcome.status == 0);
    auto without = run_verify(mirror);
    CHECK(without.status == 1);
    CHECK_THAT(without.log, Catch::Contains("missing /scratch.tmp"));
    CHECK_THAT(without.log, !Catch::Contains(".fsmirror"));
}

TEST_CASE("verify exits 2 when a tree cannot be read", "[integration][safety][verify]") {
    MirrorFixture mirror;
    fs::remove(mirror.target());
    auto outcome = run_verify(mirror);
    INFO(outcome.log);
    CHECK(outcome.status == 2);
    CHECK_THAT(outcome.log, Catch::Contains("open target directory"));
    auto usage = run_verify(mirror, {"--bogus"});
    CHECK(usage.status == 2);
}

TEST_CASE("verify reads syncs from a config file", "[integration][safety][verify]") {
    MirrorFixture mirror;
    write_file(mirror.source() / "a.txt", "a\n");
    const fs::path config = mirror.root() / "fsmirror.yml";
    write_file(config, fmt::format("syncs:\n  - name: data\n    source: {}\n    target: {}\n",
                                   mirror.source().string(), mirror.target().string()));
    REQUIRE(mirror.run_to_completion({"sync", "--config", config.string()}) == 0);
    CHECK(mirror.run_to_completion({"verify", "--config", config.string()}) == 0);
    write_file(mirror.source() / "b.txt", "b\n");
    CHECK(mirror.run_to_completion({"verify", "--config", config.string()}) == 1);
}
