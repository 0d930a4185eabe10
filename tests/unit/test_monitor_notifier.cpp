#include "monitor/notifier.hpp"
#include "monitor/subprocess.hpp"
#include "tests/support/wait.hpp"

#include <atomic>
#include <csignal>
#include <thread>

#include <catch2/catch.hpp>

using namespace fsmirror;
using namespace fsmirror::monitor;
using namespace std::chrono_literals;

namespace {

// Fails the first `failures` sends, then records.
class FlakyChannel final : public AlertChannel {
public:
    FlakyChannel(int failures, std::atomic<int>& sent, std::atomic<int>& tried)
        : m_failures(failures), m_sent(sent), m_tried(tried) {}
    base::Status send(const Notification&) override {
        ++m_tried;
        if (m_failures-- > 0)
            return base::fail(base::ErrorKind::transient, "server down");
        ++m_sent;
        return {};
    }
    std::string describe() const override { return "flaky"; }

private:
    int m_failures;
    std::atomic<int>& m_sent;
    std::atomic<int>& m_tried;
};

} // namespace

TEST_CASE("a failed delivery is retried, never fatal", "[monitor][notifier][concurrent]") {
    base::Logger logger(base::LogLevel::error);
    std::atomic<int> sent{0};
    std::atomic<int> tried{0};
    std::vector<std::unique_ptr<AlertChannel>> channels;
    channels.push_back(std::make_unique<FlakyChannel>(2, sent, tried));
    NotifierOptions options;
    options.first_retry = 20ms;
    Notifier notifier(std::move(channels), options, logger);
    notifier.submit(Notification{Notification::Type::alert, "subject", "body", "{}"});
    REQUIRE(test_support::wait_until([&] { return sent.load() == 1; }, 5000ms));
    CHECK(tried.load() == 3);
    CHECK(notifier.pending() == 0);
}

TEST_CASE("a new notification is not held up by another one's retry pause",
          "[monitor][notifier][concurrent]") {
    base::Logger logger(base::LogLevel::error);
    std::atomic<int> sent{0};
    std::atomic<int> tried{0};
    std::vector<std::unique_ptr<AlertChannel>> channels;
    channels.push_back(std::make_unique<FlakyChannel>(1, sent, tried));
    NotifierOptions options;
    options.first_retry = 60'000ms;
    Notifier notifier(std::move(channels), options, logger);
    notifier.submit(Notification{Notification::Type::alert, "first", "", "{}"});
    REQUIRE(test_support::wait_until([&] { return tried.load() == 1; }, 5000ms));
    notifier.submit(Notification{Notification::Type::recovery, "second", "", "{}"});
    REQUIRE(test_support::wait_until([&] { return sent.load() == 1; }, 5000ms));
    CHECK(notifier.pending() == 1); // the first, waiting for its retry
}

TEST_CASE("delivery gives up after max_attempts", "[monitor][notifier][concurrent]") {
    base::Logger logger(base::LogLevel::error);
    std::atomic<int> sent{0};
    std::atomic<int> tried{0};
    std::vector<std::unique_ptr<AlertChannel>> channels;
    channels.push_back(std::make_unique<FlakyChannel>(100, sent, tried));
    NotifierOptions options;
    options.first_retry = 1ms;
    options.max_attempts = 3;
    Notifier notifier(std::move(channels), options, logger);
    notifier.submit(Notification{});
    REQUIRE(test_support::wait_until([&] { return notifier.pending() == 0; }, 5000ms));
    CHECK(tried.load() == 3);
    CHECK(sent.load() == 0);
}

namespace {

// Holds every send until released, so a test can look at the notifier while one is under way.
class HeldChannel final : public AlertChannel {
public:
    explicit HeldChannel(std::atomic<bool>& release, std::atomic<int>& entered)
        : m_release(release), m_entered(entered) {}
    base::Status send(const Notification&) override {
        ++m_entered;
        while (!m_release.load())
            std::this_thread::sleep_for(1ms);
        return {};
    }
    std::string describe() const override { return "held"; }

private:
    std::atomic<bool>& m_release;
    std::atomic<int>& m_entered;
};

} // namespace

TEST_CASE("a delivery being sent still counts as pending", "[monitor][notifier][concurrent]") {
    base::Logger logger(base::LogLevel::error);
    std::atomic<bool> release{false};
    std::atomic<int> entered{0};
    std::vector<std::unique_ptr<AlertChannel>> channels;
    channels.push_back(std::make_unique<HeldChannel>(release, entered));
    Notifier notifier(std::move(channels), NotifierOptions{}, logger);
    notifier.submit(Notification{});
    REQUIRE(test_support::wait_until([&] { return entered.load() == 1; }, 5000ms));
    CHECK(notifier.pending() == 1);
    release = true;
    REQUIRE(test_support::wait_until([&] { return notifier.pending() == 0; }, 5000ms));
}

TEST_CASE("commands run without a shell, with stdin, exit status and output",
          "[monitor][subprocess]") {
    auto cat = run_command({"cat"}, "hello; $(echo no)\n", 5000ms);
    REQUIRE(cat);
    CHECK(cat->exit_status == 0);
    CHECK(cat->output == "hello; $(echo no)\n");
    auto failing = run_command({"sh", "-c", "echo oops >&2; exit 3"}, "", 5000ms);
    REQUIRE(failing);
    CHECK(failing->exit_status == 3);
    CHECK(failing->output == "oops\n");
    auto missing = run_command({"/nonexistent/fsmirror-notifier"}, "x", 5000ms);
    REQUIRE(missing);
    CHECK(missing->exit_status == 127);
    auto slow = run_command({"sleep", "10"}, "", 200ms);
    REQUIRE_FALSE(slow);
    CHECK_THAT(slow.error().message, Catch::Contains("killed"));
    // A command that does not read its input must not hang (SIGPIPE ignored, as the daemon
    // does).
    std::signal(SIGPIPE, SIG_IGN);
    auto deaf = run_command({"true"}, std::string(1 << 20, 'x'), 5000ms);
    REQUIRE(deaf);
    CHECK(deaf->exit_status == 0);
}
