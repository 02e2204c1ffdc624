// Table<F, M>: one page table of format F (Npt, Ept, Vtd, Hpt) whose frames live in M.
// See ept/ept.hpp for an example. Every change is "validate, then commit":
//   tables_needed(op)  checks op and returns the exact number of frames apply(op) will
//                      allocate given the table's current contents;
//   apply(op)          checks again, fails with no_memory (changing nothing) if
//                      mem.available() is below that number, else performs op, which then
//                      cannot fail. Tables that become uniform are re-merged into
//                      superpages (or holes) on the way out; their frames are retired.
//                      apply(op, Remerge::later) leaves them for a later merge().
// Errors: invalid (unaligned, empty, or attributes the format cannot encode), range (past
// the format's address width or wrapping), no_memory (not enough frames).
#pragma once

#include <ept/detail/apply.hpp>
#include <ept/detail/walk.hpp>
#include <ept/format.hpp>
#include <ept/memory.hpp>
#include <ept/op.hpp>

#include <vbh/result.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>

namespace vbh::ept {

template <Format F, TableMemory M>
class Table {
public:
    // Adopt an existing root table frame (e.g. one built earlier, or by the loader).
    Table(M& mem, std::uint64_t root_pa) : mem_{&mem}, root_{root_pa} {}

    // A new, empty table: allocates the root frame.
    static Result<Table> create(M& mem)
    {
        const auto root = mem.alloc();
        if (!root) return unexpected(root.error());
        return Table{mem, *root};
    }

    // Physical address of the root: the NPT/EPT pointer, CR3 or VT-d SLPTPTR.
    std::uint64_t root() const { return root_; }
    M& memory() const { return *mem_; }

    // Worst case for any op on [va, va + size) whatever the contents: one frame per
    // non-root table position the range touches.
    static constexpr std::size_t tables_bound(std::uint64_t va, std::uint64_t size)
    {
        std::size_t n = 0;
        for (unsigned level = 1; level < F::levels && size > 0; ++level) {
            const std::uint64_t span = page_size(level);
            n += static_cast<std::size_t>(((va + size - 1) / span) - (va / span) + 1);
        }
        return n;
    }

    Result<std::size_t> tables_needed(const Op& op) const
    {
        if (const Status s = check(op); s != Status::ok) return unexpected(s);
        Change scratch{};
        detail::Ctx<F, M> c{mem_, &scratch};
        return detail::count_table(c, mem_->entries(root_), 0, F::levels - 1, 0, op);
    }

    Result<Change> apply(const Op& op, Remerge remerge = Remerge::now)
    {
        const auto need = tables_needed(op);
        if (!need) return unexpected(need.error());
        if (*need > mem_->available()) return unexpected(Status::no_memory);
        Change change{};
        detail::Ctx<F, M> c{mem_, &change, remerge};
        detail::apply_table(c, root_, F::levels - 1, 0, op);
        return change;
    }

    Result<Change> map(std::uint64_t va, std::uint64_t pa, std::uint64_t size, Attrs a,
        Remerge remerge = Remerge::now)
    {
        return apply(Op::map(va, pa, size, a), remerge);
    }
    Result<Change> unmap(std::uint64_t va, std::uint64_t size) { return apply(Op::unmap(va, size)); }
    Result<Change> protect(std::uint64_t va, std::uint64_t size, Perm p)
    {
        return apply(Op::protect(va, size, p));
    }

    // Collapse every uniform table overlapping [va, va + size). Allocates nothing.
    Change merge(std::uint64_t va, std::uint64_t size)
    {
        Change change{};
        detail::Ctx<F, M> c{mem_, &change};
        detail::merge(c, root_, F::levels - 1, 0, va, clamp_end(va, size));
        return change;
    }

    // The leaf (page base va and pa, size, attributes) translating va, if any.
    std::optional<Leaf> lookup(std::uint64_t va) const { return detail::lookup<F>(*mem_, root_, va); }

    // lookup(va).has_value(), cheaper: an unrolled walk that builds no Leaf.
    bool translates(std::uint64_t va) const
    {
        return va < va_limit<F> && detail::translates<F, F::levels - 1>(*mem_, root_, va);
    }

    // fn(const Leaf&) for each leaf overlapping [va, va + size), in address order.
    template <class Fn>
    void for_each(std::uint64_t va, std::uint64_t size, Fn&& fn) const
    {
        detail::for_each<F>(*mem_, root_, F::levels - 1, 0, va, clamp_end(va, size), fn);
    }

    // Unlink nothing but retire every frame, root included; the Table is unusable after.
    Change destroy()
    {
        Change change{};
        detail::Ctx<F, M> c{mem_, &change};
        detail::retire_subtree(c, root_, F::levels - 1);
        return change;
    }

private:
    static constexpr std::uint64_t clamp_end(std::uint64_t va, std::uint64_t size)
    {
        return size > va_limit<F> - (va < va_limit<F> ? va : va_limit<F>) ? va_limit<F> : va + size;
    }

    static Status check(const Op& op)
    {
        const std::uint64_t low = frame_size - 1;
        if (op.size == 0 || ((op.va | op.size) & low)) return Status::invalid;
        if (op.va >= va_limit<F> || op.size > va_limit<F> - op.va) return Status::range;
        if (op.kind == OpKind::protect && !F::encodable(Attrs{op.attrs.perm})) return Status::invalid;
        if (op.kind != OpKind::map) return Status::ok;
        if ((op.pa & low) || !F::encodable(op.attrs)) return Status::invalid;
        if (op.pa > F::pa_mask || op.size - 1 > (F::pa_mask | low) - op.pa) return Status::range;
        return Status::ok;
    }

    M* mem_;
    std::uint64_t root_;
};

} // namespace vbh::ept
