// Errors as values for vbh-vmm: a Result<T> holds a T or one line that says what failed
// and why ("KVM_CREATE_VM: Permission denied"), which main prints as is.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace vmm {

struct Error {
    std::string message;
};

template <class T>
class [[nodiscard]] Result {
public:
    Result(T value) : v_{std::move(value)} {}
    Result(Error e) : v_{std::move(e)} {}
    bool has_value() const { return v_.index() == 0; }
    explicit operator bool() const { return has_value(); }
    T& value() { return std::get<0>(v_); }
    T& operator*() { return value(); }
    T* operator->() { return &value(); }
    const Error& error() const { return std::get<1>(v_); }

private:
    std::variant<T, Error> v_;
};

// Result<void>: ok, or an Error.
template <>
class [[nodiscard]] Result<void> {
public:
    Result() = default;
    Result(Error e) : error_{std::move(e)}, failed_{true} {}
    bool has_value() const { return !failed_; }
    explicit operator bool() const { return has_value(); }
    const Error& error() const { return error_; }

private:
    Error error_;
    bool failed_ = false;
};

// "what: strerror(err)".
Error errno_error(const std::string& what, int err);

} // namespace vmm
