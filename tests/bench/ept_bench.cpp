// Throughput of the page-table engine on NPT tables: 4 KiB-granular map/unmap/protect
// (the ownership donate/reclaim path), superpage maps, a split + re-merge round trip,
// building an identity NPT, costing an op, and lookups.
#include <ept/ept.hpp>

#include <benchmark/benchmark.h>

#include <cstdint>
#include <memory>
#include <random>
#include <vector>

namespace {

using namespace vbh::ept;

constexpr std::size_t pool_frames = 4096;
using Pool = FramePool<pool_frames>;
using Npt4 = Table<Npt, Pool>;
const Attrs rwx{Perm::rwx};

struct Fixture {
    std::unique_ptr<Pool> pool = std::make_unique<Pool>(0x100000000ll);
    Npt4 t = Npt4::create(*pool).value();

    void must(vbh::Result<Change> r)
    {
        if (!r) std::abort();
        if (r->retired) pool->release_retired(); // "after the flush"
    }
};

// One 4 KiB map per item, 512 per 2 MiB table (pa not 2 MiB aligned: no merge).
void Map4K(benchmark::State& state)
{
    Fixture f;
    for (auto _ : state) {
        for (std::uint64_t i = 0; i < 512; ++i) f.must(f.t.map(gib1 + i * kib4, 5 * gib1 + (i + 1) * kib4, kib4, rwx));
        state.PauseTiming();
        f.must(f.t.unmap(gib1, mib2));
        state.ResumeTiming();
    }
    state.SetItemsProcessed(state.iterations() * 512);
}
BENCHMARK(Map4K);

// One 4 KiB unmap per item out of a 2 MiB page: the first splits, the last frees the table.
void Unmap4K(benchmark::State& state)
{
    Fixture f;
    for (auto _ : state) {
        state.PauseTiming();
        f.must(f.t.map(gib1, 5 * gib1, mib2, rwx));
        state.ResumeTiming();
        for (std::uint64_t i = 0; i < 512; ++i) f.must(f.t.unmap(gib1 + i * kib4, kib4));
    }
    state.SetItemsProcessed(state.iterations() * 512);
}
BENCHMARK(Unmap4K);

// One 4 KiB protect per item, alternating r and rwx; every 512th re-merges a 2 MiB page.
void Protect4K(benchmark::State& state)
{
    Fixture f;
    f.must(f.t.map(gib1, 5 * gib1, mib2, rwx));
    Perm p = Perm::r;
    for (auto _ : state) {
        for (std::uint64_t i = 0; i < 512; ++i) f.must(f.t.protect(gib1 + i * kib4, kib4, p));
        p = p == Perm::r ? Perm::rwx : Perm::r;
    }
    state.SetItemsProcessed(state.iterations() * 512);
}
BENCHMARK(Protect4K);

// Map then unmap an aligned range in one call each (items: calls); argument: MiB.
void MapUnmapRange(benchmark::State& state)
{
    Fixture f;
    const std::uint64_t size = static_cast<std::uint64_t>(state.range(0)) * mib2 / 2;
    for (auto _ : state) {
        f.must(f.t.map(0, 0, size, rwx));
        f.must(f.t.unmap(0, size));
    }
    state.SetItemsProcessed(state.iterations() * 2);
}
BENCHMARK(MapUnmapRange)->Arg(2)->Arg(64)->Arg(1024)->Arg(64 * 1024);

// Donating one 4 KiB frame out of a 1 GiB page and taking it back: split 1 GiB -> 2 MiB
// -> 4 KiB, then re-merge to 1 GiB.
void SplitMergeRoundTrip(benchmark::State& state)
{
    Fixture f;
    f.must(f.t.map(0, 0, 4 * gib1, rwx));
    const std::uint64_t va = gib1 + 77 * mib2 + 13 * kib4;
    for (auto _ : state) {
        f.must(f.t.unmap(va, kib4));
        f.must(f.t.map(va, va, kib4, rwx));
    }
}
BENCHMARK(SplitMergeRoundTrip);

// The host NPT: identity map of a 48-bit guest-physical space minus a 64 MiB hole.
void IdentityNpt(benchmark::State& state)
{
    auto pool = std::make_unique<Pool>(0x100000000ll);
    const std::uint64_t hole = 3 * gib1 + 5 * mib2, hole_size = 64 * mib2;
    for (auto _ : state) {
        Npt4 t = Npt4::create(*pool).value();
        if (!t.map(0, 0, hole, rwx) ||
            !t.map(hole + hole_size, hole + hole_size, 256 * gib1 - hole - hole_size, rwx))
            std::abort();
        state.PauseTiming();
        (void)t.destroy();
        pool->release_retired();
        state.ResumeTiming();
    }
}
BENCHMARK(IdentityNpt)->Unit(benchmark::kMicrosecond);

// The dry run that validate-then-commit callers do before each change.
void TablesNeeded(benchmark::State& state)
{
    Fixture f;
    f.must(f.t.map(0, 0, 4 * gib1, rwx));
    const Op op = Op::unmap(gib1 + 77 * mib2 + 13 * kib4, kib4);
    for (auto _ : state) benchmark::DoNotOptimize(f.t.tables_needed(op));
}
BENCHMARK(TablesNeeded);

// Random lookups in 4 GiB mapped with a mix of 1 GiB, 2 MiB and 4 KiB pages.
void Lookup(benchmark::State& state)
{
    Fixture f;
    f.must(f.t.map(0, 0, 2 * gib1, rwx));                   // 1 GiB pages
    f.must(f.t.map(2 * gib1, 2 * gib1, gib1, rwx));         // 1 GiB, split below
    f.must(f.t.map(3 * gib1, 7 * gib1 + kib4, 64 * mib2, rwx)); // 4 KiB pages
    f.must(f.t.unmap(2 * gib1 + kib4, kib4));
    std::mt19937_64 rng(1);
    std::vector<std::uint64_t> vas(4096);
    for (auto& va : vas) va = rng() % (3 * gib1 + 64 * mib2);
    std::size_t i = 0;
    for (auto _ : state) benchmark::DoNotOptimize(f.t.lookup(vas[i++ & 4095]));
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(Lookup);

} // namespace

BENCHMARK_MAIN();
