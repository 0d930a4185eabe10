#pragma once
// libcurl, loaded the first time a mail is sent. Linked, it would map about 27 libraries
// (GnuTLS, Kerberos, LDAP, libssh2's OpenSSL twice over, ...) into every daemon at start, some
// 3 MiB of resident pages and as many relocations, for a channel most daemons use a few times
// a year. The package still depends on libcurl4; a missing library is a failed (retried) mail.

#include "base/error.hpp"

// The header's types only: no call below goes through a symbol the linker resolves.
#define CURL_DISABLE_TYPECHECK
#include <curl/curl.h>

namespace fsmirror::monitor {

// The libcurl functions the SMTP channel calls, resolved from the loaded library.
struct CurlApi {
    decltype(&curl_global_init) global_init = nullptr;
    decltype(&curl_easy_init) easy_init = nullptr;
    decltype(&curl_easy_setopt) easy_setopt = nullptr;
    decltype(&curl_easy_perform) easy_perform = nullptr;
    decltype(&curl_easy_cleanup) easy_cleanup = nullptr;
    decltype(&curl_easy_strerror) easy_strerror = nullptr;
    decltype(&curl_slist_append) slist_append = nullptr;
    decltype(&curl_slist_free_all) slist_free_all = nullptr;
};

// Loads libcurl.so.4 and runs curl_global_init, once per process (thread-safe); later calls
// return the same table, or the same error naming the library and what dlopen/dlsym said.
base::Result<const CurlApi*> load_curl();

} // namespace fsmirror::monitor
