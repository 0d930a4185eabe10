#include "monitor/smtp_channel.hpp"

#include "monitor/curl_library.hpp"

#include <cstring>
#include <memory>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <unistd.h>

namespace fsmirror::monitor {

namespace {

struct Upload {
    const std::string* data;
    std::size_t offset = 0;
};

std::size_t read_upload(char* buffer, std::size_t size, std::size_t count, void* user) {
    auto* upload = static_cast<Upload*>(user);
    const std::size_t room = size * count;
    const std::size_t left = upload->data->size() - upload->offset;
    const std::size_t chunk = std::min(room, left);
    std::memcpy(buffer, upload->data->data() + upload->offset, chunk);
    upload->offset += chunk;
    return chunk;
}

} // namespace

SmtpChannel::SmtpChannel(SmtpOptions options) : m_options(std::move(options)) {}

base::Status SmtpChannel::send(const Notification& notification) {
    const auto now = WallClock::now();
    const std::string message_id = fmt::format(
        "fsmirror.{}.{}.{}@{}",
        std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count(),
        ::getpid(), ++m_sent, m_options.hostname);
    const std::string message = format_mail(notification, m_options.envelope, now, message_id);

    auto loaded = load_curl();
    if (!loaded)
        return std::unexpected(loaded.error());
    const CurlApi& curl_api = **loaded;
    std::unique_ptr<CURL, void (*)(CURL*)> curl(curl_api.easy_init(), curl_api.easy_cleanup);
    if (!curl)
        return base::fail(base::ErrorKind::fatal, "cannot initialise libcurl");
    curl_slist* recipients = nullptr;
    for (const auto& address : m_options.envelope.to)
        recipients = curl_api.slist_append(recipients, address.c_str());
    std::unique_ptr<curl_slist, void (*)(curl_slist*)> recipients_guard(recipients,
                                                                        curl_api.slist_free_all);
    const auto set = curl_api.easy_setopt;
    Upload upload{&message};
    char error_buffer[CURL_ERROR_SIZE] = {};
    CURL* handle = curl.get();
    set(handle, CURLOPT_URL, m_options.url.c_str());
    set(handle, CURLOPT_MAIL_FROM, m_options.envelope.from.c_str());
    set(handle, CURLOPT_MAIL_RCPT, recipients);
    set(handle, CURLOPT_READFUNCTION, &read_upload);
    set(handle, CURLOPT_READDATA, &upload);
    set(handle, CURLOPT_UPLOAD, 1L);
    set(handle, CURLOPT_ERRORBUFFER, error_buffer);
    set(handle, CURLOPT_NOSIGNAL, 1L);
    set(handle, CURLOPT_TIMEOUT, static_cast<long>(m_options.timeout.count()));
    set(handle, CURLOPT_CONNECTTIMEOUT,
        static_cast<long>(std::min<long>(m_options.timeout.count(), 15)));
    if (m_options.require_starttls)
        set(handle, CURLOPT_USE_SSL, static_cast<long>(CURLUSESSL_ALL));
    if (m_options.ca_file)
        set(handle, CURLOPT_CAINFO, m_options.ca_file->c_str());
    if (m_options.username)
        set(handle, CURLOPT_USERNAME, m_options.username->c_str());
    if (m_options.password)
        set(handle, CURLOPT_PASSWORD, m_options.password->c_str());

    const CURLcode result = curl_api.easy_perform(handle);
    if (result != CURLE_OK) {
        const std::string detail = error_buffer[0] != '\0' ? error_buffer : "";
        const bool transient = result == CURLE_COULDNT_CONNECT ||
                               result == CURLE_OPERATION_TIMEDOUT ||
                               result == CURLE_COULDNT_RESOLVE_HOST || result == CURLE_SEND_ERROR ||
                               result == CURLE_RECV_ERROR || result == CURLE_GOT_NOTHING;
        return base::fail(transient ? base::ErrorKind::transient : base::ErrorKind::protocol,
                          fmt::format("mail to {} via {} failed: {}{}{}",
                                      fmt::join(m_options.envelope.to, ", "), m_options.url,
                                      curl_api.easy_strerror(result), detail.empty() ? "" : ": ",
                                      detail),
                          static_cast<int>(result));
    }
    return {};
}

} // namespace fsmirror::monitor
