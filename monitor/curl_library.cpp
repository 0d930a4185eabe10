#include "monitor/curl_library.hpp"

#include <string>

#include <dlfcn.h>

namespace fsmirror::monitor {

namespace {

constexpr const char* k_library = "libcurl.so.4";

template <typename Function>
bool resolve(void* library, const char* name, Function& out, std::string& error) {
    out = reinterpret_cast<Function>(::dlsym(library, name));
    if (out)
        return true;
    const char* why = ::dlerror();
    error = std::string(k_library) + " has no " + name + (why ? std::string(": ") + why : "");
    return false;
}

base::Result<const CurlApi*> load_once() {
    // Never closed: curl keeps global state (TLS, DNS threads) for the process's lifetime.
    void* library = ::dlopen(k_library, RTLD_NOW | RTLD_LOCAL);
    if (!library) {
        const char* why = ::dlerror();
        return base::fail(base::ErrorKind::fatal,
                          std::string("cannot load ") + k_library +
                              " (package libcurl4): " + (why ? why : "unknown error"));
    }
    static CurlApi api;
    std::string error;
    if (!(resolve(library, "curl_global_init", api.global_init, error) &&
          resolve(library, "curl_easy_init", api.easy_init, error) &&
          resolve(library, "curl_easy_setopt", api.easy_setopt, error) &&
          resolve(library, "curl_easy_perform", api.easy_perform, error) &&
          resolve(library, "curl_easy_cleanup", api.easy_cleanup, error) &&
          resolve(library, "curl_easy_strerror", api.easy_strerror, error) &&
          resolve(library, "curl_slist_append", api.slist_append, error) &&
          resolve(library, "curl_slist_free_all", api.slist_free_all, error)))
        return base::fail(base::ErrorKind::fatal, error);
    if (api.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return base::fail(base::ErrorKind::fatal, "curl_global_init failed");
    return &api;
}

} // namespace

base::Result<const CurlApi*> load_curl() {
    static const base::Result<const CurlApi*> loaded = load_once();
    return loaded;
}

} // namespace fsmirror::monitor
