// Costs that must grow with the work, not with RAM (issue 15, point 5): a domain of a
// few frames is torn down (DOMAIN_DESTROY: scrub, map back, flush) on machines of
// 1 GiB and 64 GiB of simulated RAM. The ownership map of the larger machine is 64
// times longer; the teardown walks only the span of the domain's own frames, so the
// two times should match.
#include "../core/npt_machine.hpp"

#include <benchmark/benchmark.h>

namespace {

using namespace vbh;

constexpr std::uint64_t mib = 1ull << 20, gib = 1ull << 30;

template <std::uint64_t Gib>
test::NptMachine<64>& machine() {
    static test::NptMachine<64> m({{0, 640 * 1024}, {mib, Gib * gib - mib}}, {{16 * mib, 2 * mib}});
    return m;
}

// 16 frames donated and 16 lent at 512 MiB, then the domain destroyed. The same
// address on both machines: the host NPT splits and re-merges the same tables (the
// first GiB is already split down to 2 MiB pages around the hypervisor's memory).
template <std::uint64_t Gib>
void BM_DestroyDomain(benchmark::State& st) {
    auto& m = machine<Gib>();
    if (!m.init_ok) {
        st.SkipWithError("machine set-up failed");
        return;
    }
    const std::uint64_t pfn = (512 * mib) >> frame_shift;
    for (auto _ : st) {
        const auto dom = m.call(VBH_HC_DOMAIN_CREATE, 0).out0;
        if (m.call(VBH_HC_HOST_DONATE, pfn, 16, dom).status != Status::ok ||
            m.call(VBH_HC_HOST_SHARE, pfn + 64, 16, dom).status != Status::ok ||
            m.call(VBH_HC_DOMAIN_DESTROY, dom).out0 != 16) {
            st.SkipWithError("hypercall failed");
            break;
        }
    }
    st.counters["ram_GiB"] = double(Gib);
}

BENCHMARK(BM_DestroyDomain<1>)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_DestroyDomain<64>)->Unit(benchmark::kMicrosecond);

} // namespace

BENCHMARK_MAIN();
