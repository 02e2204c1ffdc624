// A fake machine whose host nested page table is the real ept/ engine (AMD NPT format,
// tables in a FramePool on the test heap) behind EngineStage2, with (by default) sparse
// frame memory.
// The table starts as the image builds it: identity over all of [0, top) (RAM and
// holes alike, holes being MMIO), minus the hypervisor's ranges.
#pragma once

#include "sparse_memory.hpp"

#include <ept/ept.hpp>
#include <vbh/core.hpp>
#include <vbh/engine_stage2.hpp>

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace vbh::test {

template <std::size_t PoolFrames, FrameMemory Memory = SparseMemory>
class NptMachine {
public:
    using Pool = ept::FramePool<PoolFrames>;
    using NptTable = ept::Table<ept::Npt, Pool>;
    struct CountFlush {
        std::uint64_t* count;
        void operator()() const { ++*count; }
    };
    using Stage2 = EngineStage2<NptTable, CountFlush>;
    using MachineCore = Core<Stage2, Memory>;

    // `pool_storage`: reuse a caller's (fuzzer's) pool instead of allocating one.
    NptMachine(const std::vector<vbh_mem_range>& ram, const std::vector<vbh_mem_range>& hyp,
               Pool* pool_storage = nullptr)
        : owned_pool{pool_storage ? nullptr : std::make_unique<Pool>(0)},
          pool{pool_storage ? pool_storage : owned_pool.get()} {
        table.emplace(*NptTable::create(*pool));
        top = frames_covered(ram.data(), std::uint32_t(ram.size()));
        init_ok = table->map(0, 0, top << frame_shift, {ept::Perm::rwx, ept::MemType::wb}).has_value();
        for (const auto& h : hyp)
            init_ok &= table->unmap(h.base, h.size).has_value();
        meta.resize(top);
        s2.emplace(*table, CountFlush{&flushes});
        core = std::make_unique<MachineCore>(*s2, mem);
        CoreConfig cfg{meta.data(), meta.size() * 2, ram.data(), std::uint32_t(ram.size()),
                       hyp.data(), std::uint32_t(hyp.size())};
        init_ok &= core->init(cfg).has_value();
        pool->release_retired(); // the image flushes everything at launch
    }

    HypercallOut call(std::uint64_t nr, std::uint64_t a0 = 0, std::uint64_t a1 = 0,
                      std::uint64_t a2 = 0, std::uint64_t a3 = 0) {
        return core->dispatch(HypercallRegs{nr, a0, a1, a2, a3}, Cpl{0});
    }

    // Every leaf of the table, in address order.
    std::vector<ept::Leaf> leaves() const {
        std::vector<ept::Leaf> out;
        table->for_each(0, top << frame_shift, [&](const ept::Leaf& l) { out.push_back(l); });
        return out;
    }

    // Empty if the table is exactly what the ownership map says: every leaf 1:1 RWX WB,
    // every host/shared frame and every hole mapped, every hyp/domain frame absent.
    std::string mismatch() const { return mismatch(leaves()); }
    std::string mismatch(const std::vector<ept::Leaf>& ls) const {
        std::vector<bool> mapped(top, false);
        for (const auto& l : ls) {
            if (l.va != l.pa || l.attrs != ept::Attrs{ept::Perm::rwx, ept::MemType::wb})
                return "leaf at " + std::to_string(l.va) + " is not 1:1 rwx wb";
            for (std::uint64_t p = l.va >> frame_shift; p < (l.va + l.size) >> frame_shift && p < top; ++p)
                mapped[p] = true;
        }
        for (std::uint64_t p = 0; p < top; ++p) {
            FrameMeta m = core->frames().at(Pfn{p});
            bool want = m.owner() == Owner::none || m.host_mapped();
            if (mapped[p] != want)
                return "pfn " + std::to_string(p) + " owner " + std::to_string(int(m.owner())) +
                       (mapped[p] ? " mapped" : " unmapped");
        }
        return {};
    }

    bool init_ok = false;
    std::unique_ptr<Pool> owned_pool;
    Pool* pool;
    std::optional<NptTable> table;
    std::uint64_t top = 0;
    std::uint64_t flushes = 0;
    std::optional<Stage2> s2;
    Memory mem;
    std::vector<std::uint16_t> meta;
    std::unique_ptr<MachineCore> core;
};

} // namespace vbh::test
