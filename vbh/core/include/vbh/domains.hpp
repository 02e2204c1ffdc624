// DomainTable: the protected domains, a fixed array indexed by domain id. Id 0 is the
// host and is never created or destroyed; ids 1 .. VBH_MAX_DOMAINS - 1 are handed out
// lowest first.
#pragma once

#include <vbh/frame.hpp>
#include <vbh/frame_state.hpp>
#include <vbh/result.hpp>

#include <cstdint>

namespace vbh {

struct Domain {
    bool live = false;
    std::uint32_t flags = 0;   // VBH_DOMAIN_*
    std::uint64_t owned = 0;   // frames in Owner::domain for this id
    std::uint64_t borrowed = 0; // frames in Owner::shared for this id
    std::uint64_t guest = 0;   // frames in Owner::guest for this id (private memory)
    // Every frame it owns or borrows lies in [first, end): a teardown walks that
    // span of the ownership map, not all of RAM (grown by each share and donate).
    std::uint64_t first = ~std::uint64_t(0);
    std::uint64_t end = 0;
    constexpr bool operator==(const Domain&) const = default;

    constexpr void extend(FrameRange r) {
        first = r.first.value < first ? r.first.value : first;
        end = r.end() > end ? r.end() : end;
    }
};

class DomainTable {
public:
    static constexpr std::uint32_t capacity = VBH_MAX_DOMAINS;

    // A live protected domain named by a raw register value; else Status::no_domain.
    Result<DomainId> lookup(std::uint64_t raw) const;
    // The id create() would use; Status::no_memory when every slot is live.
    Result<DomainId> free_slot() const;

    void create(DomainId id, std::uint32_t flags);
    void destroy(DomainId id);

    const Domain& operator[](DomainId id) const { return slots_[id.value]; }
    Domain& operator[](DomainId id) { return slots_[id.value]; }
    bool operator==(const DomainTable&) const = default;

private:
    Domain slots_[capacity];
};

} // namespace vbh
