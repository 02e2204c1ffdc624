#include <vbh/domains.hpp>
#include <vbh/nospec.hpp>

namespace vbh {

Result<DomainId> DomainTable::lookup(std::uint64_t raw) const {
    // raw is the host's: masked after the bounds check (nospec.hpp).
    if (raw == VBH_HOST_DOMAIN || raw >= capacity || !slots_[index_nospec(raw, capacity)].live)
        return unexpected(Status::no_domain);
    return DomainId{std::uint16_t(raw)};
}

Result<DomainId> DomainTable::free_slot() const {
    for (std::uint32_t i = 1; i < capacity; ++i)
        if (!slots_[i].live)
            return DomainId{std::uint16_t(i)};
    return unexpected(Status::no_memory);
}

void DomainTable::create(DomainId id, std::uint32_t flags) {
    Domain d;
    d.live = true;
    d.flags = flags;
    slots_[id.value] = d;
}

void DomainTable::destroy(DomainId id) {
    slots_[id.value] = Domain{};
}

} // namespace vbh
