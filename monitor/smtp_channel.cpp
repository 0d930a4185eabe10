#include "monitor/smtp_channel.hpp"

#include <cstring>
#include <memory>

#include <curl/curl.h>
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

// curl_global_init is not thread-safe before 7.84; do it once, before any thread uses curl.
void init_curl_once() {
    static const bool initialised = [] {
        return curl_global_init(CURL_GLOBAL_DEFAULT) == 0;
    }();
    (void)initialised;
}

} // namespace

SmtpChannel::SmtpChannel(SmtpOptions options) : m_options(std::move(options)) {
    init_curl_once();
}

base::Status SmtpChannel::send(const Notification& notification) {
    const auto now = WallClock::now();
    const std::string message_id = fmt::format(
        "fsmirror.{}.{}.{}@{}",
        std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count(),
        ::getpid(), ++m_sent, m_options.hostname);
    const std::string message = format_mail(notification, m_options.envelope, now, message_id);

    std::unique_ptr<CURL, void (*)(CURL*)> curl(curl_easy_init(), &curl_easy_cleanup);
    if (!curl)
        return base::fail(base::ErrorKind::fatal, "cannot initialise libcurl");
    curl_slist* recipients = nullptr;
    for (const auto& address : m_options.envelope.to)
        recipients = curl_slist_append(recipients, address.c_str());
    std::unique_ptr<curl_slist, void (*)(curl_slist*)> recipients_guard(recipients,
                                                                        &curl_slist_free_all);
    Upload upload{&message};
    char error_buffer[CURL_ERROR_SIZE] = {};
    CURL* handle = curl.get();
    curl_easy_setopt(handle, CURLOPT_URL, m_options.url.c_str());
    curl_easy_setopt(handle, CURLOPT_MAIL_FROM, m_options.envelope.from.c_str());
    curl_easy_setopt(handle, CURLOPT_MAIL_RCPT, recipients);
    curl_easy_setopt(handle, CURLOPT_READFUNCTION, &read_upload);
    curl_easy_setopt(handle, CURLOPT_READDATA, &upload);
    curl_easy_setopt(handle, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(handle, CURLOPT_ERRORBUFFER, error_buffer);
    curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(handle, CURLOPT_TIMEOUT, static_cast<long>(m_options.timeout.count()));
    curl_easy_setopt(handle, CURLOPT_CONNECTTIMEOUT,
                     static_cast<long>(std::min<long>(m_options.timeout.count(), 15)));
    if (m_options.require_starttls)
        curl_easy_setopt(handle, CURLOPT_USE_SSL, static_cast<long>(CURLUSESSL_ALL));
    if (m_options.ca_file)
        curl_easy_setopt(handle, CURLOPT_CAINFO, m_options.ca_file->c_str());
    if (m_options.username)
        curl_easy_setopt(handle, CURLOPT_USERNAME, m_options.username->c_str());
    if (m_options.password)
        curl_easy_setopt(handle, CURLOPT_PASSWORD, m_options.password->c_str());

    const CURLcode result = curl_easy_perform(handle);
    if (result != CURLE_OK) {
        const std::string detail = error_buffer[0] != '\0' ? error_buffer : "";
        const bool transient = result == CURLE_COULDNT_CONNECT ||
                               result == CURLE_OPERATION_TIMEDOUT ||
                               result == CURLE_COULDNT_RESOLVE_HOST || result == CURLE_SEND_ERROR ||
                               result == CURLE_RECV_ERROR || result == CURLE_GOT_NOTHING;
        return base::fail(transient ? base::ErrorKind::transient : base::ErrorKind::protocol,
                          fmt::format("mail to {} via {} failed: {}{}{}",
                                      fmt::join(m_options.envelope.to, ", "), m_options.url,
                                      curl_easy_strerror(result), detail.empty() ? "" : ": ",
                                      detail),
                          static_cast<int>(result));
    }
    return {};
}

} // namespace fsmirror::monitor
