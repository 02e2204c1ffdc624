#include "paging.hpp"

#include <cstring>
#include <string>

namespace vmm {

namespace {

void put(std::span<std::uint8_t> ram, std::uint64_t gpa, std::uint64_t value) {
    std::memcpy(ram.data() + gpa, &value, sizeof value);
}

std::optional<std::uint64_t> get(std::span<const std::uint8_t> ram, std::uint64_t gpa) {
    if (gpa + 8 > ram.size()) return std::nullopt;
    std::uint64_t v;
    std::memcpy(&v, ram.data() + gpa, sizeof v);
    return v;
}

} // namespace

Result<std::uint64_t> build_identity_map(std::span<std::uint8_t> ram, std::uint64_t tables,
                                         std::uint64_t bytes, std::uint64_t uncached_from) {
    if (bytes == 0 || bytes % gib != 0 || bytes > 512 * gib)
        return Error{"identity map of " + std::to_string(bytes) + " bytes: not 1..512 GiB"};
    if (tables % page_size != 0)
        return Error{"page tables at " + std::to_string(tables) + ": not page aligned"};
    const std::uint64_t pages = identity_map_pages(bytes);
    if (tables > ram.size() || pages * page_size > ram.size() - tables)
        return Error{"page tables do not fit in guest RAM"};
    std::memset(ram.data() + tables, 0, pages * page_size);

    const std::uint64_t pml4 = tables, pdpt = tables + page_size, pd0 = tables + 2 * page_size;
    const std::uint64_t table_flags = pte_present | pte_write;
    put(ram, pml4, pdpt | table_flags);
    for (std::uint64_t g = 0; g < bytes / gib; ++g) {
        const std::uint64_t pd = pd0 + g * page_size;
        put(ram, pdpt + g * 8, pd | table_flags);
        for (std::uint64_t i = 0; i < 512; ++i) {
            const std::uint64_t pa = g * gib + i * large_page;
            std::uint64_t e = pa | pte_present | pte_write | pte_large;
            if (pa >= uncached_from) e |= pte_pcd | pte_pwt;
            put(ram, pd + i * 8, e);
        }
    }
    return pml4;
}

std::optional<Translation> translate(std::span<const std::uint8_t> ram, std::uint64_t cr3,
                                     std::uint64_t va) {
    // Bits 47:39, 38:30, 29:21 index PML4, PDPT, PD; a PD entry with PS maps 2 MiB.
    std::uint64_t table = cr3 & pte_addr;
    for (int shift : {39, 30}) {
        auto e = get(ram, table + ((va >> shift) & 511) * 8);
        if (!e || !(*e & pte_present) || (*e & pte_large)) return std::nullopt;
        table = *e & pte_addr;
    }
    auto e = get(ram, table + ((va >> 21) & 511) * 8);
    if (!e || !(*e & pte_present) || !(*e & pte_large)) return std::nullopt;
    return Translation{(*e & pte_addr & ~(large_page - 1)) | (va & (large_page - 1)), *e};
}

} // namespace vmm
