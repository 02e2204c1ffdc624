// Cost of moving memory between the host and a domain through the whole hypercall path
// (decode, page-table reservation, the real NPT engine, cross-CPU flush stub, scrub),
// for 4 KiB, 2 MiB and 1 GiB ranges, next to a memset of the same bytes in the same
// run: reclaim scrubs every byte, so the pair should approach memset speed for large
// ranges and be dominated by fixed costs for small ones.
#include "../core/npt_machine.hpp"

#include <benchmark/benchmark.h>

#include <cstring>
#include <sys/mman.h>

namespace {

using namespace vbh;

constexpr std::uint64_t mib = 1ull << 20, gib = 1ull << 30;
constexpr Pfn window{gib >> frame_shift}; // [1 GiB, 2 GiB) has real backing memory

// Frames in [1 GiB, 2 GiB) are backed by one 1 GiB mapping; everything below shares a
// scratch frame (nothing there is read back).
class WindowMemory {
public:
    WindowMemory() {
        void* p = mmap(nullptr, gib, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        base_ = p == MAP_FAILED ? nullptr : static_cast<std::uint64_t*>(p);
        if (base_)
            std::memset(base_, 1, gib); // fault it in before timing
    }
    ~WindowMemory() {
        if (base_)
            munmap(base_, gib);
    }
    std::uint64_t* words(Pfn p) {
        if (p.value < window.value)
            return scratch_;
        return base_ + (p.value - window.value) * words_per_frame;
    }
    bool ok() const { return base_ != nullptr; }

private:
    std::uint64_t* base_ = nullptr;
    std::uint64_t scratch_[words_per_frame] = {};
};

using Machine = test::NptMachine<64, WindowMemory>;

Machine& machine() {
    static Machine m({{0, 640 * 1024}, {mib, 2 * gib - mib}}, {{16 * mib, 2 * mib}});
    return m;
}

void BM_DonateReclaim(benchmark::State& st) {
    Machine& m = machine();
    if (!m.init_ok || !m.mem.ok()) {
        st.SkipWithError("machine set-up failed");
        return;
    }
    std::uint64_t frames = std::uint64_t(st.range(0)) >> frame_shift;
    auto dom = m.call(VBH_HC_DOMAIN_CREATE, VBH_DOMAIN_TEST).out0;
    for (auto _ : st) {
        auto d = m.call(VBH_HC_HOST_DONATE, window.value, frames, dom);
        auto r = m.call(VBH_HC_HOST_RECLAIM, window.value, frames, dom);
        if (d.status != Status::ok || r.status != Status::ok) {
            st.SkipWithError("hypercall failed");
            break;
        }
    }
    (void)m.call(VBH_HC_DOMAIN_DESTROY, dom);
    st.SetBytesProcessed(std::int64_t(st.iterations()) * st.range(0));
}

void BM_Memset(benchmark::State& st) {
    Machine& m = machine();
    std::uint64_t* p = m.mem.words(window);
    for (auto _ : st) {
        std::memset(p, 0, std::size_t(st.range(0)));
        benchmark::ClobberMemory();
    }
    st.SetBytesProcessed(std::int64_t(st.iterations()) * st.range(0));
}

void BM_MetadataPerGiB(benchmark::State& st) {
    for (auto _ : st)
        benchmark::DoNotOptimize(FrameTable::bytes_for(gib >> frame_shift));
    st.counters["meta_bytes_per_GiB"] = double(FrameTable::bytes_per_gib);
}

BENCHMARK(BM_DonateReclaim)->Arg(4 << 10)->Arg(2 << 20)->Arg(1 << 30)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Memset)->Arg(4 << 10)->Arg(2 << 20)->Arg(1 << 30)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_MetadataPerGiB)->Iterations(1);

} // namespace

BENCHMARK_MAIN();
