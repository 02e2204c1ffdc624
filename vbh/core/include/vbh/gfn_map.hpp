// GfnMap: where each frame a protected domain holds as private memory (Owner::guest,
// VBH_HC_GUEST_DONATE) sits in that domain's guest-physical space. Two kinds of radix
// tree over one fixed pool of 4 KiB nodes in hypervisor memory (the caller's storage,
// as FrameTable's; no heap, nothing the host can map):
//   reverse  pfn -> gfn, one tree: the shadow NPT's check (is frame F domain D's at
//            the L2 gfn that faulted?) and GUEST_RECLAIM, which names frames only;
//   forward  gfn -> pfn, one tree per domain: GUEST_DONATE's "that gfn already holds a
//            frame of dom" (a frame is in at most one domain, at one gfn).
// Four levels of 9 bits (keys below 2^36: a 48-bit guest-physical space, all a 4-level
// nested table maps; pfns below 2^36: 256 TiB of RAM), 512 entries per node, so every
// lookup is four loads. Cost: one leaf per tree per 2 MiB of private memory plus one
// node per 1 GiB above it: about 4 MiB of pool per GiB of densely donated private memory
// (0.4 %), at worst 6 nodes for an isolated 4 KiB frame. Nodes emptied by a reclaim go
// back to the pool.
//
// Writers hold the core's lock and reserve first (nodes_needed, then insert cannot
// fail). gfn_of() runs without it, on the nested page-fault path of any CPU: entries are
// single atomic words and node indices are bounded, so a reader racing a writer reads a
// stale or missing record, never outside the pool; the writer's cross-CPU flush that
// follows every such change drops what the reader built from it (core.hpp).
#pragma once

#include <vbh/frame.hpp>
#include <vbh/frame_state.hpp>

#include <cstdint>

namespace vbh {

class GfnMap {
public:
    static constexpr unsigned key_bits = 36;
    static constexpr std::uint64_t key_limit = std::uint64_t(1) << key_bits;
    static constexpr std::uint64_t no_gfn = ~std::uint64_t(0);
    static constexpr std::uint64_t node_bytes = 4096;
    // Pool storage for n nodes: the nodes, a stack of free node numbers, and each
    // node's count of non-zero entries (an erase frees an emptied node without
    // scanning its 512 entries).
    static constexpr std::uint64_t bytes_for(std::uint32_t n) { return n * (node_bytes + 4 + 2); }
    static constexpr std::uint64_t bytes_per_gib = 4 * 1024 * 1024 + 4 * node_bytes;

    // storage: 4 KiB aligned, zeroed here; bytes == 0 gives a map that holds nothing
    // (every insert needs a node: Status::no_memory).
    Result<void> attach(void* storage, std::uint64_t bytes);

    std::uint32_t available() const { return (capacity_ - next_) + nfree_; }
    // Nodes insert(dom, r, gfn) takes: exact, both trees.
    std::uint64_t nodes_needed(DomainId dom, FrameRange r, std::uint64_t gfn) const;
    // Does dom hold a frame at any gfn of [gfn, gfn + count)?
    bool any_gfn(DomainId dom, std::uint64_t gfn, std::uint64_t count) const;

    // Frame r.first + i is dom's at gfn + i; nodes_needed() were available.
    void insert(DomainId dom, FrameRange r, std::uint64_t gfn);
    // Drop frame p's record (p is dom's); nodes left empty return to the pool.
    void erase(DomainId dom, Pfn p);

    // The gfn p was donated for, or no_gfn. Lock-free (above).
    std::uint64_t gfn_of(Pfn p) const { return get(reverse, p.value); }
    // The frame dom holds at gfn, or no_gfn (under the lock: tests, the model).
    std::uint64_t pfn_at(DomainId dom, std::uint64_t gfn) const { return get(forward(dom), gfn); }

private:
    static constexpr std::uint32_t reverse = 0;
    static constexpr std::uint32_t forward(DomainId d) { return 1u + d.value; }
    static constexpr std::uint64_t valid = std::uint64_t(1) << 63;
    static constexpr int levels = 4;

    std::uint64_t* node(std::uint32_t ref) const;
    std::uint64_t get(std::uint32_t tree, std::uint64_t key) const;
    // The node (ref: index + 1, 0 = none) at depth 0 (root) .. 3 (leaf) over key.
    std::uint32_t node_at(std::uint32_t tree, std::uint64_t key, int depth) const;
    std::uint64_t missing(std::uint32_t tree, std::uint64_t first, std::uint64_t count) const;
    std::uint32_t alloc();
    void set(std::uint32_t tree, std::uint64_t key, std::uint64_t value);
    void clear(std::uint32_t tree, std::uint64_t key);

    std::uint64_t* nodes_ = nullptr;
    std::uint32_t* free_ = nullptr;
    std::uint16_t* used_ = nullptr; // per node: entries != 0 (at most 512)
    std::uint32_t capacity_ = 0;
    std::uint32_t next_ = 0;  // nodes never handed out start here
    std::uint32_t nfree_ = 0; // returned nodes, on free_
    std::uint32_t roots_[1 + VBH_MAX_DOMAINS] = {};
};

} // namespace vbh
