// Result<T>: a value or a Status, with std::expected's member names (GCC 12 has no
// <expected>). Usable freestanding: no exceptions, no heap.
#pragma once

#include <vbh/status.hpp>

#include <type_traits>
#include <utility>

namespace vbh {

struct Unexpected {
    Status status;
};

constexpr Unexpected unexpected(Status s) { return Unexpected{s}; }

template <class T>
class [[nodiscard]] Result {
public:
    constexpr Result(T v) : ok_{true}, value_{std::move(v)} {}
    constexpr Result(Unexpected e) : ok_{false}, error_{e.status} {}

    constexpr bool has_value() const { return ok_; }
    constexpr explicit operator bool() const { return ok_; }
    constexpr Status error() const { return ok_ ? Status::ok : error_; }

    constexpr T& value() & { return value_; }
    constexpr const T& value() const& { return value_; }
    constexpr T& operator*() & { return value_; }
    constexpr const T& operator*() const& { return value_; }
    constexpr T* operator->() { return &value_; }
    constexpr const T* operator->() const { return &value_; }
    constexpr T value_or(T other) const { return ok_ ? value_ : other; }

private:
    static_assert(std::is_trivially_destructible_v<T>, "Result holds plain values only");
    bool ok_;
    union {
        T value_;
        Status error_;
    };
};

// Result<void>: just a Status that must be looked at.
template <>
class [[nodiscard]] Result<void> {
public:
    constexpr Result() = default;
    constexpr Result(Unexpected e) : status_{e.status} {}

    constexpr bool has_value() const { return status_ == Status::ok; }
    constexpr explicit operator bool() const { return has_value(); }
    constexpr Status error() const { return status_; }

private:
    Status status_ = Status::ok;
};

} // namespace vbh
