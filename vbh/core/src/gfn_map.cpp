#include <vbh/gfn_map.hpp>

#include <cstring>

namespace vbh {
namespace {

constexpr std::uint64_t entries = 512;

// Key bits a node at depth d (0 = root) indexes: 35:27, 26:18, 17:9, 8:0.
constexpr unsigned shift_at(int depth) { return unsigned(9 * (3 - depth)); }
constexpr unsigned index_at(std::uint64_t key, int depth) {
    return unsigned((key >> shift_at(depth)) & (entries - 1));
}

std::uint64_t load(const std::uint64_t* e) { return __atomic_load_n(e, __ATOMIC_ACQUIRE); }
void store(std::uint64_t* e, std::uint64_t v) { __atomic_store_n(e, v, __ATOMIC_RELEASE); }

} // namespace

Result<void> GfnMap::attach(void* storage, std::uint64_t bytes) {
    const std::uint64_t n = bytes / bytes_for(1);
    if (n != 0 && (storage == nullptr || reinterpret_cast<std::uintptr_t>(storage) % node_bytes != 0))
        return unexpected(Status::invalid);
    if (n >= (std::uint64_t(1) << 31))
        return unexpected(Status::invalid);
    nodes_ = static_cast<std::uint64_t*>(storage);
    free_ = reinterpret_cast<std::uint32_t*>(static_cast<unsigned char*>(storage) + n * node_bytes);
    used_ = reinterpret_cast<std::uint16_t*>(free_ + n);
    capacity_ = std::uint32_t(n);
    next_ = nfree_ = 0;
    if (n != 0)
        std::memset(storage, 0, n * node_bytes);
    for (auto& r : roots_)
        r = 0;
    return {};
}

// ref is a stored reference: bounded before use, whatever a racing writer left there.
std::uint64_t* GfnMap::node(std::uint32_t ref) const {
    if (ref == 0 || ref > capacity_)
        return nullptr;
    return nodes_ + std::uint64_t(ref - 1) * entries;
}

std::uint32_t GfnMap::node_at(std::uint32_t tree, std::uint64_t key, int depth) const {
    std::uint32_t ref = __atomic_load_n(&roots_[tree], __ATOMIC_ACQUIRE);
    for (int d = 0; d < depth && ref != 0; ++d) {
        const std::uint64_t* n = node(ref);
        ref = n ? std::uint32_t(load(&n[index_at(key, d)])) : 0;
    }
    return node(ref) ? ref : 0;
}

std::uint64_t GfnMap::get(std::uint32_t tree, std::uint64_t key) const {
    if (key >= key_limit)
        return no_gfn;
    const std::uint64_t* leaf = node(node_at(tree, key, levels - 1));
    const std::uint64_t e = leaf ? load(&leaf[index_at(key, levels - 1)]) : 0;
    return (e & valid) ? e & ~valid : no_gfn;
}

// Every node of depth 0 .. 3 over [first, first + count) that does not exist yet.
std::uint64_t GfnMap::missing(std::uint32_t tree, std::uint64_t first, std::uint64_t count) const {
    std::uint64_t need = 0;
    const std::uint64_t last = first + count - 1;
    for (int d = 0; d < levels; ++d) {
        const unsigned s = shift_at(d) + 9; // a node at depth d covers 2^s keys
        for (std::uint64_t p = first >> s; p <= last >> s; ++p)
            if (node_at(tree, p << s, d) == 0)
                ++need;
    }
    return need;
}

std::uint64_t GfnMap::nodes_needed(DomainId dom, FrameRange r, std::uint64_t gfn) const {
    return missing(reverse, r.first.value, r.count) + missing(forward(dom), gfn, r.count);
}

bool GfnMap::any_gfn(DomainId dom, std::uint64_t gfn, std::uint64_t count) const {
    for (std::uint64_t k = gfn; k < gfn + count;) {
        // A missing leaf answers for its 512 keys at once.
        if (node_at(forward(dom), k, levels - 1) == 0) {
            k = (k | (entries - 1)) + 1;
            continue;
        }
        if (get(forward(dom), k) != no_gfn)
            return true;
        ++k;
    }
    return false;
}

std::uint32_t GfnMap::alloc() {
    std::uint32_t i;
    if (nfree_ != 0)
        i = free_[--nfree_];
    else if (next_ < capacity_)
        i = next_++;
    else
        __builtin_trap(); // reserved by nodes_needed(): the map and the table would disagree
    std::memset(nodes_ + std::uint64_t(i) * entries, 0, node_bytes);
    used_[i] = 0;
    return i + 1;
}

void GfnMap::set(std::uint32_t tree, std::uint64_t key, std::uint64_t value) {
    if (roots_[tree] == 0)
        __atomic_store_n(&roots_[tree], alloc(), __ATOMIC_RELEASE);
    std::uint32_t ref = roots_[tree];
    std::uint64_t* n = node(ref);
    for (int d = 0; d < levels - 1; ++d) {
        std::uint64_t& e = n[index_at(key, d)];
        if (e == 0) {
            store(&e, alloc());
            ++used_[ref - 1];
        }
        ref = std::uint32_t(e);
        n = node(ref);
    }
    std::uint64_t& leaf = n[index_at(key, levels - 1)];
    if (leaf == 0)
        ++used_[ref - 1];
    store(&leaf, value | valid);
}

void GfnMap::insert(DomainId dom, FrameRange r, std::uint64_t gfn) {
    for (std::uint64_t i = 0; i < r.count; ++i) {
        set(reverse, r.first.value + i, gfn + i);
        set(forward(dom), gfn + i, r.first.value + i);
    }
}

// Clear one key; each node left empty, leaf first, goes back to the pool and out of
// its parent.
void GfnMap::clear(std::uint32_t tree, std::uint64_t key) {
    std::uint64_t* path[levels];
    std::uint32_t refs[levels];
    refs[0] = roots_[tree];
    for (int d = 0; d < levels; ++d) {
        path[d] = node(refs[d]);
        if (path[d] == nullptr)
            return;
        if (d + 1 < levels)
            refs[d + 1] = std::uint32_t(path[d][index_at(key, d)]);
    }
    if (path[levels - 1][index_at(key, levels - 1)] == 0)
        return; // no record: nothing to count down
    for (int d = levels - 1; d >= 0; --d) {
        store(&path[d][index_at(key, d)], 0);
        if (--used_[refs[d] - 1] != 0)
            return;
        free_[nfree_++] = refs[d] - 1;
        if (d == 0)
            __atomic_store_n(&roots_[tree], 0u, __ATOMIC_RELEASE);
    }
}

void GfnMap::erase(DomainId dom, Pfn p) {
    const std::uint64_t gfn = gfn_of(p);
    clear(reverse, p.value);
    if (gfn != no_gfn)
        clear(forward(dom), gfn);
}

} // namespace vbh
