#include "base/error.hpp"

#include <cerrno>
#include <cstring>

namespace fsmirror::base {

ErrorKind error_kind_from_errno(int err) {
    switch (err) {
    case EAGAIN:
    case EINTR:
    case EBUSY:
    case ETIMEDOUT:
    case ECONNRESET:
    case EPIPE:
        return ErrorKind::transient;
    case ENOENT:
    case ENOTDIR:
    case ESTALE:
        return ErrorKind::not_found;
    case EACCES:
    case EPERM:
    case EROFS:
        return ErrorKind::permission_denied;
    case ENOSPC:
    case EDQUOT:
        return ErrorKind::no_space;
    case EMFILE:
    case ENFILE:
    case ENAMETOOLONG:
    case EMLINK:
        return ErrorKind::limit_reached;
    default:
        return ErrorKind::fatal;
    }
}

Error error_from_errno(int err, const std::string& context) {
    return Error{error_kind_from_errno(err), context + ": " + std::strerror(err), err};
}

std::unexpected<Error> fail_errno(const std::string& context) {
    return std::unexpected(error_from_errno(errno, context));
}

std::unexpected<Error> fail(ErrorKind kind, std::string message, int native_code) {
    return std::unexpected(Error{kind, std::move(message), native_code});
}

const char* to_string(ErrorKind kind) {
    switch (kind) {
    case ErrorKind::transient:
        return "transient";
    case ErrorKind::not_found:
        return "not_found";
    case ErrorKind::permission_denied:
        return "permission_denied";
    case ErrorKind::no_space:
        return "no_space";
    case ErrorKind::limit_reached:
        return "limit_reached";
    case ErrorKind::protocol:
        return "protocol";
    case ErrorKind::fatal:
        return "fatal";
    case ErrorKind::refused:
        return "refused";
    }
    return "fatal";
}

} // namespace fsmirror::base
