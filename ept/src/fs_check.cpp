// Instantiates every format with every operation under the freestanding flags
// (cmake/flags.cmake). Nothing here runs; it exists so that the build fails when the
// engine grows a dependency on exceptions, RTTI, SSE or the libstdc++ runtime.
#include <ept/ept.hpp>

namespace vbh::ept {
namespace {

using Pool = FramePool<16>;

template <Format F>
std::uint64_t exercise(Pool& pool)
{
    auto t = Table<F, Pool>::create(pool);
    if (!t) return 0;
    const Op op = Op::map(0, 0, gib1, Attrs{Perm::rw});
    std::uint64_t sum = t->tables_needed(op).value_or(0);
    sum += t->apply(op).has_value();
    sum += t->map(gib1, 0, mib2, Attrs{Perm::rw}).has_value();
    sum += t->unmap(0x1000, 0x2000).has_value();
    sum += t->protect(0, mib2, Perm::r).has_value();
    sum += t->merge(0, gib1).retired;
    if (auto leaf = t->lookup(0x5000)) sum += leaf->pa;
    t->for_each(0, gib1, [&sum](const Leaf& l) { sum += l.size; });
    sum += Table<F, Pool>::tables_bound(0, gib1);
    sum += t->destroy().retired;
    return sum + pool.release_retired();
}

} // namespace

// Externally visible so that nothing above is optimised away before it is compiled.
std::uint64_t fs_check(Pool& pool)
{
    return exercise<Npt>(pool) + exercise<Hpt>(pool) + exercise<Ept>(pool) +
        exercise<Vtd>(pool) + exercise<Vtd3>(pool) + exercise<BasicNpt<1>>(pool) + exercise<AmdVi>(pool) +
        exercise<BasicAmdVi<3>>(pool);
}

} // namespace vbh::ept
