// DomainTable: the protected domains, a fixed array indexed by domain id. Id 0 is the
// host and is never created or destroyed; ids 1 .. VBH_MAX_DOMAINS - 1 are handed out
// lowest first.
#pragma once

#include <vbh/frame_state.hpp>
#include <vbh/result.hpp>

#include <cstdint>

namespace vbh {

struct Domain {
    bool live = false;
    std::uint32_t flags = 0;   // VBH_DOMAIN_*
    std::uint64_t owned = 0;   // frames in Owner::domain for this id
    std::uint64_t borrowed = 0; // frames in Owner::shared for this id
    constexpr bool operator==(const Domain&) const = default;
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
