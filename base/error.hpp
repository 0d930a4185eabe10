#pragma once
// Expected failures are values: every fallible operation returns Result<T> or Status.

#include <expected>
#include <string>

namespace fsmirror::base {

// The small set of failure kinds the engine reacts to differently.
enum class ErrorKind {
    transient,         // try again later (EAGAIN, EINTR, a dropped connection)
    not_found,         // the entry vanished; usually resolved by the next event
    permission_denied, // EACCES/EPERM: report, retry with backoff
    no_space,          // ENOSPC/EDQUOT on the target: alert, retry
    limit_reached,     // a kernel or configured limit (inotify watches, open files)
    protocol,          // a peer said something malformed
    fatal,             // anything else: report, retry with backoff
    refused,           // a safety check forbids it until an operator acts: never retried
};

struct Error {
    ErrorKind kind = ErrorKind::fatal;
    std::string message;
    int native_code = 0; // errno, or the library's own code
};

template <class T> using Result = std::expected<T, Error>;
using Status = std::expected<void, Error>;

// Returns the kind an errno value maps onto.
ErrorKind error_kind_from_errno(int err);

// Returns an Error for errno `err`, whose message reads "<context>: <strerror>".
Error error_from_errno(int err, const std::string& context);

// Returns std::unexpected(error_from_errno(errno, context)); for the common `return fail(...)`.
std::unexpected<Error> fail_errno(const std::string& context);

std::unexpected<Error> fail(ErrorKind kind, std::string message, int native_code = 0);

// Returns a short name for the kind ("no_space"), for logs.
const char* to_string(ErrorKind kind);

} // namespace fsmirror::base
