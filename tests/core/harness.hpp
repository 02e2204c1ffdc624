// A small machine for core tests: 1024 frames of physical address space with
//   RAM   pfn   0 ..  255   (pfn 16 .. 31 is hypervisor memory)
//   hole  pfn 256 ..  511   (MMIO)
//   RAM   pfn 512 .. 1023
// and helpers to issue hypercalls and to compare the whole state before and after.
#pragma once

#include "fake_platform.hpp"

#include <vbh/core.hpp>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

namespace vbh::test {

inline constexpr std::uint64_t machine_frames = 1024;
inline constexpr Pfn hyp_pfn{16};
inline constexpr Pfn hole_pfn{300};
inline constexpr Pfn low_pfn{40};
inline constexpr Pfn high_pfn{600};

using TestCore = Core<FakeStage2, FakeMemory>;

struct Snapshot {
    std::vector<std::uint16_t> meta;
    DomainTable domains;
    std::vector<bool> mapped;
    std::vector<std::uint64_t> memory;
    RootTable roots;
    std::vector<unsigned char> gfn_pool; // every gfn record node and the free stack
    std::uint32_t gfn_available = 0;
    bool operator==(const Snapshot&) const = default;
};

// Storage for the gfn records (GfnMap): 4 KiB aligned, as the image's.
struct GfnPool {
    static constexpr std::uint32_t nodes = 48;
    static constexpr std::uint64_t bytes = GfnMap::bytes_for(nodes);
    struct Free {
        void operator()(unsigned char* p) const { std::free(p); }
    };
    std::unique_ptr<unsigned char, Free> mem{
        static_cast<unsigned char*>(std::aligned_alloc(4096, (bytes + 4095) & ~4095ull))};
};

class Harness {
public:
    Harness() {
        static const vbh_mem_range ram[] = {{0, 256 * frame_bytes}, {512 * frame_bytes, 512 * frame_bytes}};
        static const vbh_mem_range hyp[] = {{hyp_pfn.phys(), 16 * frame_bytes}};
        CoreConfig cfg{meta.data(), meta.size() * sizeof(std::uint16_t), ram, 2, hyp, 1,
                       gfn_pool.mem.get(), GfnPool::bytes};
        EXPECT_TRUE(core->init(cfg).has_value());
        s2.map_host_frames(core->frames());
    }

    HypercallOut call(std::uint64_t nr, std::uint64_t a0 = 0, std::uint64_t a1 = 0,
                      std::uint64_t a2 = 0, std::uint64_t a3 = 0, std::uint8_t cpl = 0) {
        return core->dispatch(HypercallRegs{nr, a0, a1, a2, a3}, Cpl{cpl});
    }

    DomainId create(std::uint32_t flags = VBH_DOMAIN_TEST) {
        auto out = call(VBH_HC_DOMAIN_CREATE, flags);
        EXPECT_EQ(out.status, Status::ok);
        return DomainId{std::uint16_t(out.out0)};
    }

    FrameMeta at(Pfn p) const { return core->frames().at(p); }

    Snapshot snapshot() const {
        Snapshot s{{}, core->domains(), s2.bits(), mem.all(), core->guests().roots,
                   {gfn_pool.mem.get(), gfn_pool.mem.get() + GfnPool::bytes},
                   core->guests().gfns.available()};
        for (std::uint64_t p = 0; p < machine_frames; ++p)
            s.meta.push_back(at(Pfn{p}).raw());
        return s;
    }

    // The host table maps exactly the frames the ownership map gives the host.
    bool consistent() const {
        for (std::uint64_t p = 0; p < machine_frames; ++p)
            if (at(Pfn{p}).host_mapped() != s2.mapped(Pfn{p}))
                return false;
        return true;
    }

    std::vector<std::uint16_t> meta = std::vector<std::uint16_t>(machine_frames);
    GfnPool gfn_pool;
    FakeStage2 s2{machine_frames};
    FakeMemory mem{machine_frames};
    std::unique_ptr<TestCore> core = std::make_unique<TestCore>(s2, mem);
};

// Issue a call that must fail with `want` and leave everything as it was.
#define EXPECT_REJECTED(h, want, ...)                                  \
    do {                                                               \
        auto before_ = (h).snapshot();                                 \
        auto out_ = (h).call(__VA_ARGS__);                             \
        EXPECT_EQ(to_string(out_.status), to_string(want));            \
        EXPECT_EQ(out_.out0, 0u);                                      \
        EXPECT_TRUE((h).snapshot() == before_) << "state changed";     \
    } while (0)

} // namespace vbh::test
