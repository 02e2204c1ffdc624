// Lazy<T>: storage for an object built at init (the image runs no global constructors:
// the build checks that .init_array is empty), e.g. a page table or the core.
#pragma once

#include <new>
#include <utility>

namespace vbh::image {

template <class T>
class Lazy {
public:
    template <class... A>
    T& emplace(A&&... a) { return *new (buf_) T(std::forward<A>(a)...); }
    T& operator*() { return *reinterpret_cast<T*>(buf_); }
    T* operator->() { return reinterpret_cast<T*>(buf_); }

private:
    alignas(T) unsigned char buf_[sizeof(T)] = {};
};

} // namespace vbh::image
